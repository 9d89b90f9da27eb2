"""SMS provider adapters (pure Python, no Odoo import).

Each module speaks one provider's documented HTTP protocol behind the ``BaseProvider``
interface. The project's fake gateway (``tests/fake_gateway`` in the repository, not part of the
addon) serves all of them locally for tests and demos.
"""

from . import inbound, lusosms, sandbox, twilio, vonage
from .base import (
    ERROR_CLASSES,
    PROVIDERS,
    Balance,
    BaseProvider,
    DeliveryReport,
    LookupResult,
    OutgoingSms,
    ProviderConfig,
    ProviderError,
    SendResult,
    WebhookRequest,
    get_provider_class,
    make_session,
    provider_selection,
)

__all__ = [
    "ERROR_CLASSES",
    "PROVIDERS",
    "Balance",
    "BaseProvider",
    "DeliveryReport",
    "LookupResult",
    "OutgoingSms",
    "ProviderConfig",
    "ProviderError",
    "SendResult",
    "WebhookRequest",
    "get_provider_class",
    "inbound",
    "lusosms",
    "make_session",
    "provider_selection",
    "sandbox",
    "twilio",
    "vonage",
]
