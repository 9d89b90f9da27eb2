"""Odoo 19.0: CgSMS plugged into Odoo's SMS API choice, the way ``sms_twilio`` plugs in.

On 19.0 Odoo asks each company for its SMS API (``res.company._get_sms_api_class``) and splits
the queue per API (``sms.sms._split_by_api``). The SMS of a company with an active CgSMS
account go to :class:`SmsApiCgsms`, whose SMS records are handed to the CgSMS send path
(``sms.sms._cgsms_send``: credits, history, exactly-once); the others keep Odoo's path (IAP,
or ``sms_twilio`` for a company that chose Twilio, untouched). On 18.0 nothing here is
defined: ``sms.sms._send`` routes the SMS (``models/sms_sms.py``).
"""

from odoo import api, models

from .. import compat
from ..engine import handoff, transaction

if compat.SMS_API_PLUGIN:
    from odoo.addons.sms.tools.sms_api import SmsApiBase

    # The CgSMS failure types are Odoo's own (see FAILURE_TYPES in sms_sms.py).
    _FAILURE_STATES = (
        "sms_acc",
        "sms_credit",
        "sms_number_format",
        "sms_number_missing",
        "sms_server",
        "sms_blacklist",
        "sms_duplicate",
        "unknown",
    )

    def _uses_twilio(company):
        """A company that chose Odoo's Twilio connector (``sms_twilio``) keeps it."""
        return "sms_provider" in company._fields and company.sms_provider == "twilio"

    class SmsApiCgsms(SmsApiBase):
        """The SMS API of a company with an active CgSMS account."""

        PROVIDER_TO_SMS_FAILURE_TYPE = SmsApiBase.PROVIDER_TO_SMS_FAILURE_TYPE | {
            state: state for state in _FAILURE_STATES
        }

        def __init__(self, env, account=None):
            super().__init__(env, account=account)
            self.account = account

        def _set_company(self, company):
            super()._set_company(company)
            if self.account and self.account.company_id != company:
                self.account = None

        def _get_account(self):
            if not self.account:
                self.account = self.env["cgsms.account"]._get_active(self.company)
            return self.account

        def _send_records(self, sms, unlink_failed=False, unlink_sent=True):
            """Send ``sms`` (sms.sms records) with the company's CgSMS account."""
            return sms._cgsms_send(self._get_account(), unlink_failed, unlink_sent)

        def _send_sms_batch(self, messages, delivery_reports_url=False):
            """Odoo's batch interface, for callers that hand over numbers and texts instead of
            sms.sms records (e.g. a mailing's test SMS): each number becomes (or is) an
            sms.sms of its uuid, sent through CgSMS once, and reported in Odoo's format."""
            account = self._get_account()
            Sms = self.env["sms.sms"].sudo()
            wanted = [
                (message["content"], number)
                for message in messages
                for number in message["numbers"]
            ]
            existing = Sms.search([("uuid", "in", [n["uuid"] for _b, n in wanted])])
            by_uuid = {sms.uuid: sms for sms in existing}
            missing = [(body, n) for body, n in wanted if n["uuid"] not in by_uuid]
            created = Sms.create(
                [
                    {
                        "uuid": n["uuid"],
                        "number": n["number"],
                        "body": body,
                        "state": "outgoing",
                        "cgsms_company_id": account.company_id.id,
                    }
                    for body, n in missing
                ]
            )
            by_uuid.update({sms.uuid: sms for sms in created})
            sms_all = Sms.browse([by_uuid[n["uuid"]].id for _b, n in wanted])
            self._send_records(sms_all.filtered(lambda s: s.state == "outgoing"), False, False)
            # In a user's transaction the SMS only queued: they leave once it commits.
            handed_over = handoff.deferred(self.env)
            results = []
            for sms in sms_all:
                if sms.state in ("pending", "sent") or (handed_over and sms.state == "outgoing"):
                    results.append({"uuid": sms.uuid, "state": "success"})
                elif sms.state == "outgoing":  # provider down: left in the queue
                    results.append({"uuid": sms.uuid, "state": "server_error"})
                else:
                    results.append(
                        {
                            "uuid": sms.uuid,
                            "state": sms.failure_type or "unknown",
                            "failure_reason": sms.cgsms_recipient_id.failure_reason or "",
                        }
                    )
            return results

    class ResCompany(models.Model):
        _inherit = "res.company"

        def _get_sms_api_class(self):
            self.ensure_one()
            if not _uses_twilio(self) and self.env["cgsms.account"]._get_active_by_company(
                self.ids
            ):
                return SmsApiCgsms
            return super()._get_sms_api_class()

    class SmsSms(models.Model):
        _inherit = "sms.sms"

        @api.model
        def _process_queue(self, ids=None):
            # Odoo's SMS cron: what a provider accepted is committed before the next call.
            # 19.0's cron passes no ids; CgSMS's queue (models/sms_sms.py, next in line) and
            # its callers (cgsms_queue_job) may.
            with transaction.owning(self.env.cr, not compat.testing()):
                return super()._process_queue(ids=ids)

        def _split_by_api(self):
            accounts = (
                self.env["cgsms.account"]._get_active_by_company(set(self.cgsms_company_id.ids))
                if self
                else {}
            )
            ours = self.browse()
            for company, sms in self.grouped("cgsms_company_id").items():
                account = accounts.get(company.id)
                if account and not _uses_twilio(company):
                    sms_api = SmsApiCgsms(self.env, account=account)
                    sms_api._set_company(company)
                    ours |= sms
                    yield sms_api, sms
            others = self - ours
            if others:
                yield from super(SmsSms, others)._split_by_api()

        def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
            # Odoo's send() splits per API; its queue (_process_queue) and other callers come
            # here without one, for SMS of several companies: split them the same way.
            if self.env.context.get("sms_api") or not self:
                return super()._send(
                    unlink_failed=unlink_failed,
                    unlink_sent=unlink_sent,
                    raise_exception=raise_exception,
                )
            for sms_api, sms in self._split_by_api():
                super(SmsSms, sms.with_context(sms_api=sms_api))._send(
                    unlink_failed=unlink_failed,
                    unlink_sent=unlink_sent,
                    raise_exception=raise_exception,
                )
            return None

        def _send_with_api(
            self, sms_api, unlink_failed=False, unlink_sent=True, raise_exception=False
        ):
            if isinstance(sms_api, SmsApiCgsms):
                return sms_api._send_records(
                    self.with_context(sms_api=None), unlink_failed, unlink_sent
                )
            return super()._send_with_api(
                sms_api,
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
