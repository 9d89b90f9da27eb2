"""A LusoSMS-style HTTP API: GET with username and password, text answers ``OK ...`` or
``ERRO <code> <text>``, and form-encoded delivery reports signed with HMAC-SHA256."""

from urllib.parse import urlencode

from .addon import E164_RE, hmac_hex
from .common import text_reply

PROVIDER = "lusosms"
# (method, path prefix, path suffix, kind): the handler of a kind is this module's function
ROUTES = (
    ("GET", "/api/send", "", "send"),
    ("GET", "/api/balance", "", "balance"),
    ("GET", "/api/status", "", "lookup"),
)
AUTH_FAILED = "ERRO 001 Autenticacao invalida"


def error(mode, kind):
    """LusoSMS's own answer to a failure of ``mode``."""
    return {
        "auth": lambda: text_reply(200, AUTH_FAILED),
        "insufficient": lambda: text_reply(200, "ERRO 002 Creditos insuficientes"),
        "invalid_number": lambda: text_reply(200, "ERRO 003 Numero invalido"),
        "rate_limited": lambda: text_reply(
            429, "ERRO 009 Demasiados pedidos", {"Retry-After": "0"}
        ),
        "server_error": lambda: text_reply(503, "ERRO 099 Erro interno"),
    }[mode]()


def _auth(gateway, request):
    query = request["query"]
    return gateway.find_account(PROVIDER, query.get("username"), query.get("password"))


def balance(gateway, request):
    account = _auth(gateway, request)
    if not account:
        return text_reply(200, AUTH_FAILED)
    return text_reply(200, f"OK {account.balance:.2f}")


def send(gateway, request):
    account = _auth(gateway, request)
    if not account:
        return text_reply(200, AUTH_FAILED)
    query = request["query"]
    to, sender, text = query.get("to", ""), query.get("from", ""), query.get("message", "")
    number = to if to.startswith("+") else "+" + to
    if not E164_RE.match(number):
        return text_reply(200, "ERRO 003 Numero invalido")
    if sender and (not sender.isalnum() or len(sender) > 11):
        return text_reply(200, "ERRO 004 Remetente invalido")
    if not text or len(text) > 1000:
        return text_reply(200, "ERRO 005 Mensagem vazia ou demasiado longa")
    charged = gateway.charge(account, text)
    if charged is None:
        return text_reply(200, "ERRO 002 Creditos insuficientes")
    segments, price = charged
    message_id = str(100000 + gateway.next_number())
    gateway.record(
        PROVIDER,
        account,
        number,
        sender,
        text,
        query.get("callback", ""),
        segments,
        price,
        message_id,
        query.get("ref", ""),
        status="sent",
    )
    return text_reply(200, f"OK {message_id}")


def lookup(gateway, request):
    """The status of the message sent with ``ref``."""
    account = _auth(gateway, request)
    if not account:
        return text_reply(200, AUTH_FAILED)
    ref = request["query"].get("ref", "")
    found = gateway.find_messages(
        lambda m: m["provider"] == PROVIDER
        and m["account"] == account.username
        and ref
        and m["ref"] == ref
    )
    if not found:
        return text_reply(200, "ERRO 010 Mensagem nao encontrada")
    status = {"delivered": "DELIVERED", "failed": "UNDELIVERED"}.get(found[0]["status"], "SENT")
    return text_reply(200, f"OK {found[0]['id']} {status}")


def reports(gateway, message, account, url, status, error_code):
    """The delivery report of ``message``, signed when the account has a secret."""
    native = {"delivered": "DELIVERED", "sent": "SENT"}.get(status.lower(), "UNDELIVERED")
    failed = native == "UNDELIVERED"
    body = urlencode(
        {
            "id": message["id"],
            "status": native,
            "code": (error_code or "003") if failed else "000",
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if account.webhook_secret:
        headers["X-LusoSMS-Signature"] = hmac_hex(account.webhook_secret, body)
    yield {"data": body.encode("utf-8"), "headers": headers}
