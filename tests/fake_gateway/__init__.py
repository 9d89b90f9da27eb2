"""A local HTTP server speaking the Twilio, Vonage, LusoSMS and sandbox protocols.

A test and demo tool, outside the installable addons. Used by the tests, the benchmark and the
demo: it checks credentials, keeps a balance per account, records every message, can be told to
fail the next calls in a given way, and sends signed delivery reports to the callback URLs,
exactly as the real providers do. Each provider's protocol is a module of its own (``twilio``,
``vonage``, ``lusosms``, ``sandbox``) whose handlers return a ``Reply``; ``server`` holds the
shared state and dispatches each request. ``scripts/fake_gateway.py`` runs it from the command
line.

Other processes drive it through a small JSON control API::

    GET  /_control/messages             -> {"messages": [...]}
    GET  /_control/requests             -> {"requests": [...]}
    GET  /_control/accounts             -> {"accounts": [...]}
    POST /_control/fail      {"provider", "mode", "count"?, "delay"?}
    POST /_control/deliver   {"message_id"?, "status"?, "error_code"?, "concurrency"?}
                             -> {"codes": [...], "retried": N}
    POST /_control/reply     {"provider", "from", "text", "account"?, "url"?, "to"?,
                              "message_id"?, "opt_out_type"?, "method"?, "concat_ref"?}
                             -> {"codes": [...], "message_id"}
    GET  /_control/replies              -> {"replies": [...]}
    POST /_control/reset
    POST /_control/balance   {"provider", "account"?, "amount"}
    POST /_control/account   {"provider", "username", "password", "balance"?,
                              "webhook_secret"?, "callback_url"?, "inbound_url"?}
    POST /_control/settings  {"auto_deliver"?, "callback_base"?, "timeout_delay"?,
                              "rate_limit"?, "rate_burst"?, ...}

Besides the providers' send and balance calls it serves their lookups: Twilio's message list
(``GET .../Messages.json?To=..``), LusoSMS ``GET /api/status?ref=..`` and the sandbox's
``GET /sandbox/v1/messages?ref=..``.

Failure modes of ``fail``: the providers' own refusals (``auth``, ``insufficient``,
``invalid_number``, ``rate_limited``, ``server_error``), ``timeout`` (sleeps then 504 without
taking the message), ``slow`` (sleeps ``delay`` then answers normally), and the ambiguous ones of
a proxy in front of the provider: ``drop_after`` (the message is taken, then the connection is
closed without an answer) and ``error_after`` (taken, then 504 Gateway Timeout).

``rate_limit`` (messages per second, 0: none) makes every provider refuse sends above it with its
own "too many requests" answer (429 + Retry-After), as a token bucket holding ``rate_burst``.

``reply`` plays the customer: an SMS sent back, posted to the account's inbound URL (Odoo's
replies URL) as the provider posts it, genuinely signed (Twilio with the auth token, Vonage with
the signature secret and in parts for a long text, the sandbox with its webhook secret).
LusoSMS offers no replies.

``latency`` (seconds, a setting) delays every provider and IAP call, as a provider that far
away would; the control API answers at once.
"""

from .cli import main
from .common import (
    AFTER_MODES,
    CALLBACK_PATHS,
    DEFAULT_ACCOUNTS,
    DEFAULT_BALANCE,
    FAILURE_MODES,
    FINAL_STATUSES,
    IAP_SEND_PATH,
    LUSOSMS_PASSWORD,
    LUSOSMS_USERNAME,
    LUSOSMS_WEBHOOK_SECRET,
    PRICE_PER_SEGMENT,
    SANDBOX_TOKEN,
    SANDBOX_USERNAME,
    SANDBOX_WEBHOOK_SECRET,
    SEND_ONLY_MODES,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    VONAGE_API_KEY,
    VONAGE_API_SECRET,
    VONAGE_SIGNATURE_SECRET,
    Account,
    Reply,
)
from .server import FakeGateway
