import logging

from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import api, fields, models, sql_db

from .. import compat

_logger = logging.getLogger(__name__)

REFUSALS = [
    ("signature", "Bad or missing signature"),
    ("malformed", "Unreadable report"),
]


class CgsmsDeliveryStat(models.Model):
    """When the delivery reports of an account last arrived, and how many were refused.

    One row per account, kept apart from ``cgsms.account`` (whose row the sends lock while
    they reserve credits) and written by the webhook in a transaction of its own: a refused
    report rolls nothing back, and a burst of reports never waits on a send."""

    _name = "cgsms.delivery.stat"
    _description = "Delivery reports received by an SMS account"
    _log_access = False

    account_id = fields.Many2one("cgsms.account", required=True, ondelete="cascade", index=True)
    last_date = fields.Datetime("Last report")
    refused_count = fields.Integer("Refused reports")
    last_refused_date = fields.Datetime("Last refused report")
    last_refusal = fields.Selection(REFUSALS, "Why the last one was refused")

    # The counters are upserted on this constraint (ON CONFLICT (account_id)).
    locals().update(
        compat.sql_constraints(
            ("account_unique", "unique(account_id)", "One delivery report counter per account."),
        )
    )

    @api.model
    def _cgsms_record(self, account_id, refusal=False):
        """Count one report of ``account_id``: accepted, or refused for ``refusal``.

        A single upsert in READ COMMITTED, committed at once: concurrent reports of one
        account queue on the row for a moment instead of failing with serialization errors
        and being retried. Never raises: a counter must not lose a report."""
        now = fields.Datetime.now()
        try:
            with self.env.registry.cursor() as cr:
                if isinstance(cr, sql_db.Cursor):
                    cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
                if refusal:
                    cr.execute(
                        """
                        INSERT INTO cgsms_delivery_stat
                               (account_id, refused_count, last_refused_date, last_refusal)
                        VALUES (%s, 1, %s, %s)
                        ON CONFLICT (account_id) DO UPDATE
                           SET refused_count = cgsms_delivery_stat.refused_count + 1,
                               last_refused_date = EXCLUDED.last_refused_date,
                               last_refusal = EXCLUDED.last_refusal
                        """,
                        [account_id, now, refusal],
                    )
                else:
                    # one write per second and account is enough for "last report at"
                    cr.execute(
                        """
                        INSERT INTO cgsms_delivery_stat (account_id, refused_count, last_date)
                        VALUES (%s, 0, %s)
                        ON CONFLICT (account_id) DO UPDATE
                           SET last_date = EXCLUDED.last_date
                         WHERE cgsms_delivery_stat.last_date IS NULL
                            OR cgsms_delivery_stat.last_date
                               < EXCLUDED.last_date - interval '1 second'
                        """,
                        [account_id, now],
                    )
        except Exception:
            _logger.warning(
                "Delivery report counter of account %s not updated", account_id, exc_info=True
            )
