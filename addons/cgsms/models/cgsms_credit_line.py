from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import formatLang

from ..engine import sql
from ..tools.credits import credit_digits

# The debits of a chunk of SMS (``_cgsms_insert_debits``): planned once per connection
# (engine/sql.py), and 4 arrays to read instead of 13 values per SMS.
DEBITS = sql.function(
    "cgsms_credit_debits",
    "p_account integer, p_company integer, p_recipients integer[], p_references text[],"
    " p_segments integer[], p_amounts numeric[], p_date timestamp, p_uid integer",
    "void",
    """
INSERT INTO cgsms_credit_line (account_id, company_id, recipient_id, reference, segments,
                               amount, kind, date, user_id, create_uid, write_uid,
                               create_date, write_date)
SELECT p_account, p_company, v.recipient_id, v.reference, v.segments, v.amount, 'debit',
       p_date, p_uid, p_uid, p_uid, p_date, p_date
  FROM unnest(p_recipients, p_references, p_segments, p_amounts)
       AS v(recipient_id, reference, segments, amount);
""",
)


class CgsmsCreditLine(models.Model):
    _name = "cgsms.credit.line"
    _description = "SMS credit movement"
    _order = "date desc, id desc"

    account_id = fields.Many2one("cgsms.account", required=True, ondelete="restrict", index=True)
    # Not indexed: one line per SMS sent, and a company holds most lines (see init).
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    kind = fields.Selection(
        [
            ("topup", "Pack bought"),
            ("debit", "SMS sent"),
            ("refund", "Refund"),
            ("adjustment", "Adjustment"),
        ],
        required=True,
        default="topup",
    )
    amount = fields.Float(
        "Credits",
        digits=(12, 4),
        required=True,
        help="Positive for credits added, negative for credits consumed.",
    )
    reference = fields.Char(help="Pack or invoice reference, or the reason of an adjustment.")
    recipient_id = fields.Many2one("cgsms.recipient", "SMS", index="btree_not_null", readonly=True)
    segments = fields.Integer(readonly=True)
    user_id = fields.Many2one("res.users", default=lambda self: self.env.user, readonly=True)

    @api.model
    def _format_credits(self, amount):
        """A number of credits in the reader's language, with 2 decimals unless the amount
        needs more: "1 440,00", "7,20", "1,4375"."""
        return formatLang(self.env, amount or 0.0, digits=credit_digits(amount))

    @api.model
    def _cgsms_demo_topup(self, account):
        """The pack of the demo database (scripts/run.sh), named in the reader's language."""
        return self.create(
            {
                "account_id": account.id,
                "kind": "topup",
                "amount": 1440,
                "reference": _("Demo pack (1000 SMS)"),
            }
        )

    def init(self):
        # The balance of each account without summing its whole ledger, which grows by one line
        # per SMS, on every reservation: a trigger adds each change of the ledger as a delta row
        # (inserts never wait for one another, whatever the isolation level), and reservations
        # fold the deltas into one balance row per account now and then
        # (``cgsms.account._credit_fold``). The balance is that row plus the deltas left; the
        # ledger stays the reference, and the balances are computed again from it on each
        # update of the module.
        cr = self.env.cr
        # Each SMS sent inserts a debit: an index on the company (one per line, a company
        # holding most lines) was written for every SMS and never chosen.
        cr.execute("DROP INDEX IF EXISTS cgsms_credit_line__company_id_index")
        cr.execute(
            """
            CREATE TABLE IF NOT EXISTS cgsms_credit_balance (
                account_id integer PRIMARY KEY,
                amount numeric NOT NULL DEFAULT 0
            );
            CREATE TABLE IF NOT EXISTS cgsms_credit_delta (
                account_id integer NOT NULL,
                amount numeric NOT NULL
            );
            CREATE INDEX IF NOT EXISTS cgsms_credit_delta_account_id_idx
                ON cgsms_credit_delta (account_id);
            CREATE OR REPLACE FUNCTION cgsms_credit_line_delta() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO cgsms_credit_delta (account_id, amount)
                    SELECT account_id, SUM(amount) FROM new_rows
                     WHERE account_id IS NOT NULL GROUP BY account_id;
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO cgsms_credit_delta (account_id, amount)
                    SELECT account_id, -SUM(amount) FROM old_rows
                     WHERE account_id IS NOT NULL GROUP BY account_id;
                ELSE
                    INSERT INTO cgsms_credit_delta (account_id, amount)
                    SELECT account_id, SUM(amount) FROM (
                        SELECT account_id, -amount AS amount FROM old_rows
                        UNION ALL
                        SELECT account_id, amount FROM new_rows
                    ) changed
                     WHERE account_id IS NOT NULL AND amount IS NOT NULL
                     GROUP BY account_id HAVING SUM(amount) <> 0;
                END IF;
                RETURN NULL;
            END
            $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS cgsms_credit_line_delta_insert ON cgsms_credit_line;
            DROP TRIGGER IF EXISTS cgsms_credit_line_delta_update ON cgsms_credit_line;
            DROP TRIGGER IF EXISTS cgsms_credit_line_delta_delete ON cgsms_credit_line;
            CREATE TRIGGER cgsms_credit_line_delta_insert AFTER INSERT ON cgsms_credit_line
                REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION cgsms_credit_line_delta();
            CREATE TRIGGER cgsms_credit_line_delta_update AFTER UPDATE ON cgsms_credit_line
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION cgsms_credit_line_delta();
            CREATE TRIGGER cgsms_credit_line_delta_delete AFTER DELETE ON cgsms_credit_line
                REFERENCING OLD TABLE AS old_rows
                FOR EACH STATEMENT EXECUTE FUNCTION cgsms_credit_line_delta();
            LOCK TABLE cgsms_credit_delta IN EXCLUSIVE MODE;
            DELETE FROM cgsms_credit_delta;
            DELETE FROM cgsms_credit_balance;
            INSERT INTO cgsms_credit_balance (account_id, amount)
            SELECT account_id, SUM(amount) FROM cgsms_credit_line
             WHERE account_id IS NOT NULL GROUP BY account_id;
            """
        )

    @api.model
    def _cgsms_insert_debits(self, account, debits, date):
        """Record the debits of a chunk of SMS in one query: ``debits`` are ``(recipient id,
        number, segments, amount)``, amounts negative (what ``create`` would store, without
        its per-record work; the ledger is append-only, nothing else reacts to a debit)."""
        if not debits:
            return
        self.env.cr.execute(
            SQL(
                "SELECT %s(%s, %s, %s, %s, %s, %s, %s, %s)",
                SQL.identifier(DEBITS),
                account.id,
                account.company_id.id,
                *(list(column) for column in zip(*debits, strict=True)),
                date,
                self.env.uid,
            )
        )
        # The one2many fields listing credit lines do not know the new ones yet.
        for model_name in ("cgsms.account", "cgsms.recipient"):
            model = self.env[model_name]
            fnames = [
                name
                for name, field in model._fields.items()
                if field.type == "one2many" and field.comodel_name == self._name
            ]
            if fnames:
                model.invalidate_model(fnames)

    @api.constrains("kind", "amount")
    def _check_amount_sign(self):
        for line in self:
            if line.kind == "topup" and line.amount <= 0:
                raise ValidationError(_("A pack bought must add a positive number of credits."))
            if line.kind == "debit" and line.amount > 0:
                raise ValidationError(_("A debit cannot add credits."))

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.account_id._check_low_balance()
        return lines

    def write(self, vals):  # pylint: disable=method-required-super
        # The ledger is append-only: a mistake is corrected with an adjustment line.
        raise UserError(
            _("Credit movements cannot be changed. Record an adjustment to correct a mistake.")
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            _("Credit movements cannot be deleted. Record an adjustment to correct a mistake.")
        )

    def action_record_pack(self):
        """Header button of the credits screens: record a pack bought for the company's
        active account (the account's own "Add credits")."""
        if not self.env.user.has_group("cgsms.group_cgsms_manager"):
            raise AccessError(_("Only SMS managers can record the packs of credits bought."))
        account = self.env["cgsms.account"]._get_active()
        if not account:
            raise UserError(
                _(
                    "No active SMS account for this company. Configure one in SMS > "
                    "Configuration > Provider accounts, then record the pack."
                )
            )
        return account.sudo(False).action_add_credits()
