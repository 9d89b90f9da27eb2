"""The gateway's default accounts, its failure modes, and the reply every handler returns."""

import json
from dataclasses import dataclass, field

TWILIO_ACCOUNT_SID = "AC" + "c95a1f0e7d3b4a2c8e6f9d1b3a5c7e90"
TWILIO_AUTH_TOKEN = "fake-auth-token"
VONAGE_API_KEY = "fakekey"
VONAGE_API_SECRET = "fakesecret"
VONAGE_SIGNATURE_SECRET = "fake-vonage-signature-secret"
LUSOSMS_USERNAME = "demo"
LUSOSMS_PASSWORD = "demo"
LUSOSMS_WEBHOOK_SECRET = "fake-lusosms-webhook-secret"
SANDBOX_USERNAME = "sandbox"
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_WEBHOOK_SECRET = "fake-sandbox-webhook-secret"

# provider -> (username, password, webhook secret)
DEFAULT_ACCOUNTS = {
    "twilio": (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, ""),
    "vonage": (VONAGE_API_KEY, VONAGE_API_SECRET, VONAGE_SIGNATURE_SECRET),
    "lusosms": (LUSOSMS_USERNAME, LUSOSMS_PASSWORD, LUSOSMS_WEBHOOK_SECRET),
    "sandbox": (SANDBOX_USERNAME, SANDBOX_TOKEN, SANDBOX_WEBHOOK_SECRET),
}
DEFAULT_BALANCE = 100.0
PRICE_PER_SEGMENT = 0.05
# Where delivery reports go when a message carries no callback URL (``callback_base`` + path).
CALLBACK_PATHS = {provider: f"/cgsms/webhook/{provider}" for provider in DEFAULT_ACCOUNTS}

FAILURE_MODES = (
    "auth",
    "insufficient",
    "invalid_number",
    "rate_limited",
    "server_error",
    "timeout",
    "slow",
    "drop_after",
    "error_after",
)
# Modes that only make sense for a send; balance calls and lookups leave them queued.
SEND_ONLY_MODES = ("insufficient", "invalid_number", "drop_after", "error_after")
# The message is taken, then the answer is lost on its way back (a proxy failing).
AFTER_MODES = ("drop_after", "error_after")
FINAL_STATUSES = ("delivered", "failed")
# Reports that say the SMS is on its way (each provider's word), not delivered nor failed.
INTERIM_STATUSES = ("sent", "accepted", "buffered", "queued", "sending")
IAP_SEND_PATH = "/api/sms/3/send"  # Odoo IAP's SMS endpoint (benchmark of the stock path)


@dataclass
class Account:
    provider: str
    username: str
    password: str
    balance: float = DEFAULT_BALANCE
    webhook_secret: str = ""
    callback_url: str = ""
    inbound_url: str = ""  # where the customer's replies are posted (Odoo's replies URL)


@dataclass
class Reply:
    """The answer to one request. ``drop``: close the connection without answering."""

    status: int
    body: str = ""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    drop: bool = False


def json_reply(status, data, headers=None):
    return Reply(status, json.dumps(data), "application/json", dict(headers or {}))


def text_reply(status, text, headers=None):
    return Reply(status, text, "text/plain; charset=utf-8", dict(headers or {}))


DROP = Reply(0, drop=True)
