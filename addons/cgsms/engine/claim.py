"""Claiming a chunk of the queue: taken with ``FOR UPDATE SKIP LOCKED``, numbers normalised
and checked by the sending policy, history lines written, credits reserved (the ledger) and
the chunk marked "sending", committed before any provider call."""

import logging
import random
import time

from psycopg2.extensions import TransactionRollbackError

from odoo import fields
from odoo.tools import SQL

from ..tools.phone import normalize_number
from ..tools.sms_segments import count_segments
from . import ledger, policy, results, route, sql, transaction

_logger = logging.getLogger(__name__)

# Claims that lose a race against another worker (serialization failure) are tried again.
CLAIM_TRIES = 5


def claim_chunk(model, account, limit, stats=None, default_country=None, unlink_sent=True, after=0):
    """Claim up to ``limit`` queued SMS of ``account``'s company (of ``model`` when not
    empty) that no other worker holds: history lines, numbers, credits reserved, marked
    "sending", committed when allowed. Returns the claimed SMS, ready for the provider
    (those refused on the way, e.g. invalid numbers, are failed and not returned);
    ``stats["taken"]``, when given, counts every queued SMS taken from the queue, and
    ``stats["outgoing"]`` gets what the provider calls need of each SMS returned ({sms id:
    (uuid, E.164 number, text, history line id, send id)}: not read again after the commit);
    ``default_country`` (ISO code) reads national numbers, the company's by default;
    ``unlink_sent``: whether the SMS are garbage-collected once sent (Odoo's ``to_delete``);
    ``after``: only SMS of a greater id (a run's last claim, ``stats["last"]``)."""
    commit = transaction.owns(model.env.cr)
    retry = transaction.is_clean(model.env.cr)
    for attempt in range(CLAIM_TRIES):
        try:
            if retry:
                # A transaction of its own, in READ COMMITTED: the account row lock of
                # _lock() is then waited for instead of failing when another worker's
                # claim committed meanwhile, and the balance is read after that commit.
                model.env.cr.commit()  # pylint: disable=invalid-commit
                model.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            claimed = claim(
                model,
                account,
                limit,
                stats,
                default_country,
                retry,
                unlink_sent=unlink_sent,
                after=after,
            )
            if commit:
                # From here the reservation and the "sending" mark survive a crash.
                model.env.cr.commit()  # pylint: disable=invalid-commit
            return claimed
        except TransactionRollbackError:
            # Another worker committed a claim on the same account since our snapshot.
            # Rolled back and tried again only when nothing of the caller would be lost;
            # otherwise the caller's retry (Odoo's RPC or cron) starts over.
            if not retry or attempt == CLAIM_TRIES - 1:
                raise
            model.env.cr.rollback()
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    return model.browse()


# What the claim reads of each SMS, in the query that takes it: its text and number, the
# country of its contact and its history line (one query per chunk instead of the ORM's
# reads of the SMS, contacts, countries and lines).
_CLAIM_COLUMNS = (
    "s.id, s.number, s.body, s.cgsms_tried_accounts, c.code, "
    "s.cgsms_recipient_id, r.state, r.cost, r.attempts, s.uuid, r.message_id"
)
_CLAIM_SMS_FIELDS = (
    *("state", "to_delete", "cgsms_company_id", "cgsms_account_id", "number", "body"),
    *("partner_id", "cgsms_recipient_id", "cgsms_tried_accounts", "uuid"),
)
# History lines in these states already left (or may have): never handed over again.
_LEFT = ("sending", "checking", "sent", "delivered")
_CLAIM_FROM = (
    "sms_sms s LEFT JOIN res_partner p ON p.id = s.partner_id "
    "LEFT JOIN res_country c ON c.id = p.country_id "
    "LEFT JOIN cgsms_recipient r ON r.id = s.cgsms_recipient_id"
)

# The claim's query when it takes from a company's queue (the engine's runs, not given SMS),
# as a function: planned once per connection (``sql.function``); a join of Odoo's SMS,
# contacts and countries costs PostgreSQL more to plan than to run for a chunk.
# ``p_routed_to`` NULL: the company has one account, which takes every SMS. ``p_after``: the
# last SMS the run claimed. The queue's index keeps an entry for each SMS claimed since
# PostgreSQL's last vacuum; read from the start, each claim of a campaign went through all
# of them again (its CPU grew with the campaign).
CLAIM_QUEUE = sql.function(
    "cgsms_claim_queue",
    "p_company integer, p_limit integer, p_routed_to integer, p_take_unrouted boolean,"
    " p_routed integer[], p_after integer",
    "TABLE (id integer, number varchar, body text, tried varchar, country varchar,"
    " recipient_id integer, line_state varchar, cost numeric, attempts integer,"
    " uuid varchar, message_id integer)",
    f"""
RETURN QUERY SELECT {_CLAIM_COLUMNS} FROM {_CLAIM_FROM}
 WHERE s.state = 'outgoing' AND s.to_delete IS NOT TRUE AND s.cgsms_company_id = p_company
   AND s.id > p_after
   AND (p_routed_to IS NULL OR s.cgsms_account_id = p_routed_to
        OR (p_take_unrouted
            AND (s.cgsms_account_id IS NULL OR s.cgsms_account_id <> ALL(p_routed))))
 ORDER BY s.id LIMIT p_limit FOR UPDATE OF s SKIP LOCKED;
""",
)
# The claimed history lines (``claim``).
LINES_CLAIMED = sql.function(
    "cgsms_recipient_claimed",
    "p_ids integer[], p_numbers text[], p_segments integer[], p_encodings text[],"
    " p_costs numeric[], p_attempts integer[], p_account integer, p_now timestamp,"
    " p_written timestamp, p_uid integer",
    "void",
    """
UPDATE cgsms_recipient r
   SET number = v.number, segments = v.segments, encoding = v.encoding, cost = v.cost,
       attempts = v.attempts, state = 'sending', account_id = p_account, date_attempt = p_now,
       lookup_count = 0, error_class = NULL, failure_reason = NULL, write_date = p_written,
       write_uid = p_uid
  FROM unnest(p_ids, p_numbers, p_segments, p_encodings, p_costs, p_attempts)
       AS v(id, number, segments, encoding, cost, attempts)
 WHERE r.id = v.id;
""",
)

# The claimed SMS marked as Odoo marks an SMS its provider took (``claim``).
SMS_CLAIMED = sql.function(
    "cgsms_sms_claimed",
    "p_ids integer[], p_to_delete boolean, p_written timestamp, p_uid integer",
    "void",
    """
UPDATE sms_sms SET state = 'pending', failure_type = NULL, to_delete = p_to_delete,
       write_date = p_written, write_uid = p_uid
 WHERE id = ANY(p_ids);
""",
)
# The numbers of ``p_numbers`` on Odoo's opt-out list (``opted_out``).
OPTED_OUT = sql.function(
    "cgsms_opted_out",
    "p_numbers text[]",
    "SETOF varchar",
    "RETURN QUERY SELECT number FROM phone_blacklist WHERE active AND number = ANY(p_numbers);",
)


class _Row:
    """One claimed SMS as read by the claim's query."""

    __slots__ = (
        *("attempts", "body", "cost", "country", "id", "number", "recipient_id", "state"),
        *("message_id", "tried", "uuid"),
    )

    def __init__(self, row):
        self.id, self.number, self.body, tried, self.country = row[:5]
        self.recipient_id, self.state, cost, attempts, self.uuid, self.message_id = row[5:]
        self.cost, self.attempts = float(cost or 0.0), attempts or 0
        self.tried = tried


def claim(
    model,
    account,
    limit,
    stats=None,
    default_country=None,
    read_committed=False,
    unlink_sent=True,
    after=0,
):
    account = account.sudo()
    env = model.env
    Sms = env["sms.sms"].sudo().with_context(sms_skip_msg_notification=True)
    Recipient = env["cgsms.recipient"].sudo()
    Sms.flush_model(_CLAIM_SMS_FIELDS)
    Recipient.flush_model(["state", "cost", "attempts", "message_id"])
    env["res.partner"].flush_model(["country_id"])
    # Before any lock of this claim: an account whose pause is over is switched back here.
    routes = route.Routes(env, account.company_id.id, switch_back=True)
    # Several accounts: this one takes the SMS routed to it, and the first one in rotation
    # those not routed yet (or routed to an account archived since).
    routing = (
        [None, False, []]
        if routes.single
        else [account.id, routes.default_id() == account.id, routes.ids]
    )
    if model.ids:
        env.cr.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM {_CLAIM_FROM} WHERE s.state = 'outgoing'"
            " AND s.to_delete IS NOT TRUE AND s.cgsms_company_id = %s AND s.id IN %s"
            " AND (%s IS NULL OR s.cgsms_account_id = %s OR (%s AND"
            " (s.cgsms_account_id IS NULL OR s.cgsms_account_id <> ALL(%s))))"
            " ORDER BY s.id LIMIT %s FOR UPDATE OF s SKIP LOCKED",
            [account.company_id.id, tuple(model.ids), routing[0], *routing, int(limit)],
        )
    else:
        env.cr.execute(
            f"SELECT * FROM {CLAIM_QUEUE}(%s, %s, %s, %s, %s, %s)",
            [account.company_id.id, int(limit), *routing, int(after or 0)],
        )
    rows = [_Row(row) for row in env.cr.fetchall()]
    sms_all = Sms.browse([row.id for row in rows])
    if stats is not None:
        stats["taken"] = len(sms_all)
        stats["last"] = max((row.id for row in rows), default=after)
    if not sms_all:
        return sms_all
    if account.gsm7_safe:
        # The text as it leaves through this account (accents replaced): counted, charged,
        # recorded and looked up at the provider as sent. Once per distinct text: a campaign's
        # SMS share one.
        prepared = {}
        changed = []
        for row in rows:
            if not row.body:
                continue
            if row.body not in prepared:
                prepared[row.body] = account._cgsms_prepare_body(row.body)
            if prepared[row.body] != row.body:
                row.body = prepared[row.body]
                changed.append((row.id, row.body))
        sql.bulk_update(Sms, ("body",), changed, {})
    if any(not row.recipient_id for row in rows):
        ensure_recipients(sms_all, account)
        _read_new_lines(env, rows)

    # Exactly once: an SMS whose history line already left, or is being looked up at the
    # provider, is never handed over again.
    done = [row for row in rows if row.state in _LEFT]
    for row in done:
        _logger.info("SMS %s already handed to the provider: not sent again", row.id)
    if done:
        Sms.browse([row.id for row in done]).write(
            {"state": "pending", "failure_type": False, "to_delete": True}
        )
        rows = [row for row in rows if row.state not in _LEFT]
    if account.neutralized:
        # A neutralized copy of the database (data/neutralize.sql): nothing leaves and no
        # credit is reserved; each SMS and its document say why.
        reason = policy.neutralized(env)
        for row in rows:
            results.fail(Sms.browse(row.id), "rejected", reason)
        return Sms

    if default_country is None:
        default_country = account.company_id.country_id.code or ""
    rules = account._cgsms_policy_rules(account.id)  # read once for the chunk
    to_send = []  # (row, e164, segment info, price per segment)
    rerouted = []  # (sms id, account id): another account sends them
    segments = {}  # {text: its SegmentInfo}: counted once per distinct text
    for row in rows:
        number = normalize_number(row.number or "", row.country or default_country or None)
        if not number.valid:
            error_class = "missing_number" if number.reason == "missing" else "invalid_number"
            results.fail(
                Sms.browse(row.id), error_class, policy.refusal(env, error_class, row.number)
            )
            continue
        if not (row.body or "").strip():
            results.fail(Sms.browse(row.id), "rejected", env._("The message is empty."))
            continue
        if routes.single:
            where = policy.destination(account, number.e164, number, rules)
        else:
            target, where = routes.pick(number.e164, number, route.parse_tried(row.tried))
            if target is not None and target != account:
                rerouted.append((row.id, target.id))
                continue
            where = where or policy.Destination(number.e164, reason="no_route")
        if not where.allowed:
            results.fail(
                Sms.browse(row.id),
                policy.error_class(where.reason),
                policy.refusal(env, where.reason, number.e164, where.country_code),
            )
            continue
        if row.body not in segments:
            segments[row.body] = count_segments(row.body)
        to_send.append((row, number.e164, segments[row.body], where.price))
    if rerouted:
        sql.bulk_update(Sms, ("cgsms_account_id",), rerouted, {})
        Sms._cgsms_wake_accounts(env["cgsms.account"].browse({a for _s, a in rerouted}))
    blocked = opted_out(model, {e164 for _r, e164, _i, _p in to_send})
    if blocked:
        for row, e164, _info, _price in to_send:
            if e164 in blocked:
                results.fail(
                    Sms.browse(row.id), "blacklisted", policy.refusal(env, "blacklisted", e164)
                )
        to_send = [item for item in to_send if item[1] not in blocked]
    if not to_send:
        return Sms

    now = fields.Datetime.now()
    candidates = []  # (sms, recipient, e164, segment info, cost, line's cost and attempts)
    for row, e164, info, price in to_send:
        cost = round(info.segments * price, 4)
        candidates.append(
            (
                sms_all.browse(row.id),
                Recipient.browse(row.recipient_id),
                e164,
                info,
                cost,
                (row.cost, row.attempts),
            )
        )
    # What does not depend on the balance is written before the account is locked: the
    # lock that serialises the reservations of all workers is held only for the balance
    # and the debits. One query for the chunk (the ORM would write each line on its own).
    # The account that really sends it (account_id), so that its reports match.
    env.cr.execute(
        SQL(
            "SELECT %s(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            SQL.identifier(LINES_CLAIMED),
            [c[1].id for c in candidates],
            [c[2] for c in candidates],
            [c[3].segments for c in candidates],
            [c[3].encoding for c in candidates],
            [c[4] for c in candidates],
            [c[5][1] + 1 for c in candidates],
            account.id,
            now,
            sql.transaction_now(env.cr),
            env.uid,
        )
    )
    sql.written(
        Recipient,
        [c[1].id for c in candidates],
        [
            *("number", "segments", "encoding", "cost", "attempts", "state", "account_id"),
            *("date_attempt", "lookup_count", "error_class", "failure_reason"),
        ],
    )
    # Marked as Odoo marks an SMS its provider took ("Sent", garbage-collected after), once:
    # the results write it again only when it did not leave (back in the queue, failed,
    # checking). The history line says "sending" until the provider answers; Odoo's garbage
    # collection keeps the SMS of such lines (sms.sms._gc_device).
    sms_ids = [c[0].id for c in candidates]
    env.cr.execute(
        SQL(
            "SELECT %s(%s, %s, %s, %s)",
            SQL.identifier(SMS_CLAIMED),
            sms_ids,
            bool(unlink_sent),
            sql.transaction_now(env.cr),
            env.uid,
        )
    )
    sql.written(Sms, sms_ids, ["state", "failure_type", "to_delete"])

    reserved = ledger.reserve(model, account, candidates, now, read_committed)
    if stats is not None:
        stats["outgoing"] = {
            row.id: (row.uuid, e164, row.body, row.recipient_id, row.message_id)
            for row, e164, _info, _price in to_send
        }
    return reserved


def _read_new_lines(env, rows):
    """The history lines ``ensure_recipients`` just gave to some of ``rows``."""
    env["sms.sms"].flush_model(["cgsms_recipient_id"])
    env["cgsms.recipient"].flush_model(["state", "cost", "attempts", "message_id"])
    env.cr.execute(
        "SELECT s.id, r.id, r.state, r.cost, r.attempts, r.message_id FROM sms_sms s "
        "JOIN cgsms_recipient r ON r.id = s.cgsms_recipient_id WHERE s.id = ANY(%s)",
        [[row.id for row in rows if not row.recipient_id]],
    )
    lines = {sms_id: line for sms_id, *line in env.cr.fetchall()}
    for row in rows:
        if not row.recipient_id and row.id in lines:
            row.recipient_id, row.state, cost, attempts, row.message_id = lines[row.id]
            row.cost, row.attempts = float(cost or 0.0), attempts or 0


def opted_out(model, numbers):
    """Those of ``numbers`` (E.164) on Odoo's opt-out list (phone.blacklist)."""
    if not numbers:
        return set()
    model.env["phone.blacklist"].flush_model(["number", "active"])
    model.env.cr.execute(f"SELECT * FROM {OPTED_OUT}(%s)", [list(numbers)])
    return {number for (number,) in model.env.cr.fetchall()}


def ensure_recipients(model, account):
    """Give each SMS its history line (kept after the SMS itself is garbage-collected)."""
    missing = model.filtered(lambda s: not s.cgsms_recipient_id)
    if not missing:
        return
    Recipient = model.env["cgsms.recipient"].sudo()
    existing = {
        r.sms_uuid: r for r in Recipient.search([("sms_uuid", "in", missing.mapped("uuid"))])
    }
    vals_list, new_sms = [], []
    for sms in missing:
        if sms.uuid in existing:
            continue
        message = sms.mail_message_id
        vals_list.append(
            {
                "company_id": account.company_id.id,
                "account_id": account.id,
                "partner_id": sms.partner_id.id,
                "number": sms.number,
                "body": sms.body,
                "sms_uuid": sms.uuid,
                "mail_message_id": message.id,
                "res_model": message.model or False,
                "res_id": message.res_id or False,
            }
        )
        new_sms.append(sms)
    links = [(sms.id, existing[sms.uuid].id) for sms in missing if sms.uuid in existing]
    links += [
        (sms.id, recipient.id)
        for sms, recipient in zip(new_sms, Recipient.create(vals_list), strict=True)
    ]
    sql.bulk_update(model, ("cgsms_recipient_id",), links, {})
