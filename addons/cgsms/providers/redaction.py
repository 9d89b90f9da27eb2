"""Credentials never reach a log line or an error text: the values of credential-like query
parameters are masked, in our messages and in urllib3's request lines."""

import logging
import re
from urllib.parse import urlsplit

_SECRET_QUERY_RE = re.compile(
    r"((?:^|[?&;\s])(?:password|pass|api_secret|token|sig)=)[^&\s\"']*", re.IGNORECASE
)


def redact(text):
    """Mask the values of credential-like query parameters in ``text``."""
    return _SECRET_QUERY_RE.sub(r"\1***", str(text))


def url_path(url):
    """The path of ``url`` only: safe to log even when the query string carries credentials."""
    return urlsplit(url).path or "/"


def _redact_arg(value):
    return redact(value) if isinstance(value, str) else value


class _RedactSecretsFilter(logging.Filter):
    """urllib3 logs request lines (with query strings) at DEBUG: mask credentials in them."""

    def filter(self, record):
        if isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(a) for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _install_log_filter():
    target = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactSecretsFilter) for f in target.filters):
        target.addFilter(_RedactSecretsFilter())


_install_log_filter()
