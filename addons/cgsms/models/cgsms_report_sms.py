from odoo import fields, models
from odoo.tools import SQL

from .cgsms_recipient import ERROR_CLASSES, STATES

# An SMS "sent" for the delivery rate: it left the account (a delivery report may still come,
# or came back as not delivered). Refused numbers and provider errors never left.
_LEFT = (
    "(r.state IN ('sent', 'delivered') OR (r.state = 'failed' AND r.error_class = 'undelivered'))"
)


class CgsmsReportSms(models.Model):
    """SMS analysis: the SMS history (``cgsms.recipient``) as figures a manager groups by
    account, country, user, document type or send. Read-only, computed from the history at
    each read; a company sees its own SMS only (record rule on ``company_id``)."""

    _name = "cgsms.report.sms"
    _description = "SMS analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "number"
    _depends = {
        "cgsms.recipient": [
            "date_sent",
            "date_attempt",
            "company_id",
            "account_id",
            "partner_id",
            "number",
            "message_id",
            "res_model",
            "state",
            "error_class",
            "segments",
            "cost",
        ],
        "cgsms.message": ["user_id"],
    }

    date = fields.Datetime(readonly=True, help="When the SMS left, else when it was queued.")
    company_id = fields.Many2one("res.company", readonly=True)
    account_id = fields.Many2one("cgsms.account", "Account", readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    number = fields.Char(readonly=True)
    country_id = fields.Many2one(
        "res.country", "Country", readonly=True, help="Country of the number's prefix."
    )
    user_id = fields.Many2one("res.users", "Sent by", readonly=True)
    message_id = fields.Many2one("cgsms.message", "SMS send", readonly=True)
    model_id = fields.Many2one(
        "ir.model", "Document type", readonly=True, help="What the SMS was about."
    )
    state = fields.Selection(STATES, "Status", readonly=True)
    error_class = fields.Selection(ERROR_CLASSES, "Failure", readonly=True)
    sms_count = fields.Integer("SMS", readonly=True, aggregator="sum")
    segments = fields.Integer("Messages", readonly=True, aggregator="sum")
    cost = fields.Float("Credits", digits=(12, 2), readonly=True, aggregator="sum")
    sent_count = fields.Integer(
        "Left", readonly=True, aggregator="sum", help="SMS that left through the provider."
    )
    delivered_count = fields.Integer("Delivered", readonly=True, aggregator="sum")
    failed_count = fields.Integer("Failed", readonly=True, aggregator="sum")
    delivery_rate = fields.Float(
        "Delivery rate (%)",
        digits=(5, 1),
        readonly=True,
        aggregator="avg",
        help="Delivered SMS out of those that left, in percent. A group's rate is computed "
        "from its totals (delivered ÷ left), not as an average of averages.",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT r.id AS id,
                   COALESCE(r.date_sent, r.date_attempt, r.create_date) AS date,
                   r.company_id AS company_id,
                   r.account_id AS account_id,
                   r.partner_id AS partner_id,
                   r.number AS number,
                   country.id AS country_id,
                   COALESCE(msg.user_id, r.create_uid) AS user_id,
                   r.message_id AS message_id,
                   model.id AS model_id,
                   r.state AS state,
                   r.error_class AS error_class,
                   1 AS sms_count,
                   COALESCE(r.segments, 0) AS segments,
                   COALESCE(r.cost, 0) AS cost,
                   CASE WHEN %(left)s THEN 1 ELSE 0 END AS sent_count,
                   CASE WHEN r.state = 'delivered' THEN 1 ELSE 0 END AS delivered_count,
                   CASE WHEN r.state IN ('failed', 'unknown') THEN 1 ELSE 0 END AS failed_count,
                   CASE WHEN r.state = 'delivered' THEN 100.0
                        WHEN %(left)s THEN 0.0 END AS delivery_rate
              FROM cgsms_recipient r
              LEFT JOIN cgsms_message msg ON msg.id = r.message_id
              LEFT JOIN ir_model model ON model.model = r.res_model
              LEFT JOIN res_partner partner ON partner.id = r.partner_id
              LEFT JOIN res_company company ON company.id = r.company_id
              LEFT JOIN res_partner company_partner ON company_partner.id = company.partner_id
              LEFT JOIN LATERAL (
                    -- the longest calling code the number starts with; +1 and +7 are shared
                    -- by several countries: the contact's, else the company's, comes first
                    SELECT c.id FROM res_country c
                     WHERE left(r.number, 1) = '+' AND c.phone_code > 0
                       AND c.phone_code::text IN (substr(r.number, 2, 1), substr(r.number, 2, 2),
                                                  substr(r.number, 2, 3), substr(r.number, 2, 4))
                     ORDER BY length(c.phone_code::text) DESC,
                              (c.id = partner.country_id) DESC NULLS LAST,
                              (c.id = company_partner.country_id) DESC NULLS LAST, c.id
                     LIMIT 1
              ) country ON TRUE
            """,
            left=SQL(_LEFT),
        )

    def _read_group_select(self, aggregate_spec, query):
        # A rate of a group is the ratio of its sums, whatever aggregate the client asks for:
        # the average of the lines' rates would weigh a day of 2 SMS like a day of 2,000.
        # Odoo checks the spec (field, aggregate) and the access as for any other field
        sql = super()._read_group_select(aggregate_spec, query)
        if aggregate_spec.split(":")[0] != "delivery_rate":
            return sql
        delivered = self._field_to_sql(self._table, "delivered_count", query)
        left = self._field_to_sql(self._table, "sent_count", query)
        return SQL(
            "ROUND(100.0 * SUM(%s) / NULLIF(SUM(%s), 0), 1)",
            delivered,
            left,
        )
