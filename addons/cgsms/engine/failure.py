"""A provider's per-message refusal read as an account error (``cgsms.account._error_message``),
for the results and the health of an account."""


class ProviderFailure:
    """Adapter so that a per-message SendResult reads like a ProviderError."""

    def __init__(self, result):
        self.error_class = result.error_class or "unknown"
        self.provider_code = result.provider_code or ""
        self.provider_text = result.provider_text or ""
