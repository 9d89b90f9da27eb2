import logging

from werkzeug.exceptions import NotFound

from odoo.http import Controller, request, route

from ..models.cgsms_reply_part import TooManyPendingParts
from ..providers import PROVIDERS
from ..providers.base import MAX_REPORT_BYTES
from .main import CgsmsWebhookController

_answer = CgsmsWebhookController._answer

_logger = logging.getLogger(__name__)

# Empty TwiML: Twilio sends nothing back to the customer itself.
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class CgsmsInboundController(Controller):
    """Replies: the SMS customers send back, one route per provider and account.

    Signed like the delivery reports and read only from what the signature covers (the body
    is read before Odoo parses it, see ``gate.py``). A replay records nothing; a refused or
    failed request writes nothing."""

    @route(
        ["/cgsms/in/<string:provider>/<int:account_id>"],
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
        max_content_length=MAX_REPORT_BYTES,
    )
    def inbound(self, provider, account_id, **_kw):
        if provider not in PROVIDERS or not PROVIDERS[provider].receives_replies:
            raise NotFound()
        account, adapter, webhook = CgsmsWebhookController._signed_webhook(
            provider, account_id, url_method="_inbound_url"
        )
        if webhook is None:
            _logger.warning("SMS reply with a bad signature refused (account %s)", account.id)
            return _answer(403, "Bad signature")
        try:
            items = CgsmsWebhookController._parsed(adapter.parse_inbound, webhook)
        except ValueError as exc:
            _logger.warning("Malformed SMS reply refused (account %s): %s", account.id, exc)
            return _answer(400, "Malformed reply")
        try:
            request.env["cgsms.reply"].sudo()._cgsms_receive(account, items)
        except TooManyPendingParts:
            _logger.warning(
                "Part of an SMS reply refused: account %s holds too many incomplete replies",
                account.id,
            )
            return _answer(429, "Too many incomplete replies, retry later")
        if provider == "twilio":
            return _answer(200, TWIML_EMPTY, "text/xml")
        return _answer(200, "OK")
