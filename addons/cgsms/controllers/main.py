import logging

from werkzeug.exceptions import BadRequest, Forbidden, NotFound

from odoo.http import Controller, request, route

from ..providers import PROVIDERS, WebhookRequest

_logger = logging.getLogger(__name__)


class CgsmsWebhookController(Controller):
    """Delivery reports from the providers, one route per provider and account.

    The account id in the path only selects which secret verifies the signature; it grants
    nothing by itself. Unknown message ids are ignored and replays change nothing."""

    @route(
        ["/cgsms/dlr/<string:provider>/<int:account_id>"],
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def delivery_report(self, provider, account_id, **_kw):
        if provider not in PROVIDERS:
            raise NotFound()
        account = (
            request.env["cgsms.account"].sudo().with_context(active_test=False).browse(account_id)
        )
        if not account.exists() or account.provider != provider:
            raise NotFound()
        httpreq = request.httprequest
        webhook = WebhookRequest(
            method=httpreq.method,
            url=account._callback_url()
            + (f"?{httpreq.query_string.decode()}" if httpreq.query_string else ""),
            headers={k: v for k, v in httpreq.headers.items()},
            params={k: v for k, v in httpreq.values.items()},
            body=httpreq.get_data(cache=True),
        )
        adapter = account._provider()
        if not adapter.verify_signature(webhook):
            _logger.warning("Delivery report with a bad signature refused (account %s)", account.id)
            raise Forbidden()
        try:
            reports = adapter.parse_delivery_report(webhook)
        except ValueError as exc:
            _logger.warning("Malformed delivery report refused (account %s): %s", account.id, exc)
            raise BadRequest() from None
        updated = request.env["cgsms.recipient"].sudo()._apply_delivery_reports(account, reports)
        _logger.info(
            "Delivery reports for account %s: %s received, %s applied",
            account.id,
            len(reports),
            updated,
        )
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])
