import logging

from werkzeug.exceptions import NotFound

from odoo.http import Controller, request, route

from ..providers import PROVIDERS, WebhookRequest
from ..providers.base import MAX_REPORT_BYTES

_logger = logging.getLogger(__name__)


class CgsmsWebhookController(Controller):
    """Delivery reports from the providers, one route per provider and account.

    The account id in the path only selects which secret verifies the signature; it grants
    nothing by itself. A report is read only from what its signature covers (see the
    adapters). Replays change nothing; a report whose SMS is not saved yet is kept and
    applied later. How many reports run at once is bounded by ``gate.py``."""

    @route(
        ["/cgsms/dlr/<string:provider>/<int:account_id>"],
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
        max_content_length=MAX_REPORT_BYTES,
    )
    def delivery_report(self, provider, account_id, **_kw):
        account, adapter, webhook = self._signed_webhook(provider, account_id)
        Stat = request.env["cgsms.delivery.stat"].sudo()
        if webhook is None:
            _logger.warning("Delivery report with a bad signature refused (account %s)", account.id)
            Stat._cgsms_record(account.id, refusal="signature")
            return self._answer(403, "Bad signature")
        try:
            reports = self._parsed(adapter.parse_delivery_report, webhook)
        except ValueError as exc:
            _logger.warning("Malformed delivery report refused (account %s): %s", account.id, exc)
            Stat._cgsms_record(account.id, refusal="malformed")
            return self._answer(400, "Malformed delivery report")
        Stat._cgsms_record(account.id)
        updated = request.env["cgsms.recipient"].sudo()._apply_delivery_reports(account, reports)
        _logger.info(
            "Delivery reports for account %s: %s received, %s applied",
            account.id,
            len(reports),
            updated,
        )
        return self._answer(200, "OK")

    @classmethod
    def _signed_webhook(cls, provider, account_id, url_method="_callback_url"):
        """(account, adapter, the request as its signature covers it, else None) for a webhook
        posted to ``provider``'s route of account ``account_id``; NotFound when no such
        account. ``url_method``: the account's method giving the URL the provider was given
        (the delivery report URL by default)."""
        if provider not in PROVIDERS:
            raise NotFound()
        account = (
            request.env["cgsms.account"].sudo().with_context(active_test=False).browse(account_id)
        )
        if not account.exists() or account.provider != provider:
            raise NotFound()
        adapter = account._provider()
        webhooks = cls._webhook_requests(account, getattr(account, url_method)())
        return account, adapter, next((w for w in webhooks if cls._verified(adapter, w)), None)

    @staticmethod
    def _verified(adapter, webhook):
        """Whether ``webhook`` carries ``adapter``'s signature; bytes that cannot even be
        read (bad encoding, wrong types) carry none, whatever the adapter raises."""
        try:
            return bool(adapter.verify_signature(webhook))
        except (ValueError, TypeError, UnicodeError, RecursionError):
            _logger.info("Webhook whose signature could not be read refused", exc_info=True)
            return False

    @staticmethod
    def _parsed(parse, webhook):
        """``parse(webhook)``: what a signed webhook carries; ValueError for any content
        the adapter cannot read (wrong types, bad encoding), never another exception."""
        try:
            return parse(webhook)
        except (TypeError, UnicodeError, RecursionError, KeyError, AttributeError) as exc:
            raise ValueError(f"Unreadable content ({type(exc).__name__})") from exc

    @staticmethod
    def _webhook_requests(account, account_url):
        """The request as signed for each URL the provider may have signed (Twilio signs the
        URL it posts to): the URL the account gave the provider (``account_url``), and the URL
        this request was sent to, for webhooks of SMS that left before web.base.url changed.
        Behind a proxy, the latter is the public URL only with Odoo's proxy_mode
        (X-Forwarded-Host/Proto)."""
        httpreq = request.httprequest
        # bytes that are not UTF-8 were not signed by any provider: replaced, they fail the check
        query = (
            f"?{httpreq.query_string.decode('utf-8', 'replace')}" if httpreq.query_string else ""
        )
        urls = dict.fromkeys((account_url + query, httpreq.base_url + query))
        headers = dict(httpreq.headers.items())
        params = dict(httpreq.args.items())
        body = httpreq.get_data(cache=True)
        for url in urls:
            yield WebhookRequest(
                method=httpreq.method, url=url, headers=headers, params=params, body=body
            )

    @staticmethod
    def _answer(status, text, content_type="text/plain"):
        # Answered, not raised: the transaction commits, with the refusal counted.
        return request.make_response(text, headers=[("Content-Type", content_type)], status=status)
