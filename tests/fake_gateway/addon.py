"""What the fake providers share with the real adapters of the ``cgsms`` addon: the segment
count (so that prices agree), the E.164 check and the providers' signature schemes.

Inside Odoo (the addons' own tests, ``odoo-bin shell``) they come from the loaded addon, so that
its ``providers`` package is not imported a second time under another name. Elsewhere (pytest,
the command line, the benchmark) from ``addons/cgsms`` of this repository: ``providers`` is
plain Python and needs no Odoo. Installed as the package ``cgsms-fake-gateway`` outside the
repository, from the installed addon (``odoo-addon-cgsms`` or an addons path).
"""

import importlib
import importlib.util
import os
import sys

ADDON_DIR = os.path.normpath(
    os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "addons", "cgsms"
    )
)


def _addon_dir():
    """The folder of the cgsms addon: the repository's, else the installed one (found without
    importing it: the addon needs a running Odoo, its ``providers`` do not)."""
    if os.path.isdir(ADDON_DIR):
        return ADDON_DIR
    spec = importlib.util.find_spec("odoo.addons.cgsms")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the fake gateway needs the cgsms addon (odoo-addon-cgsms)")
    return next(iter(spec.submodule_search_locations))


def _providers_module(name):
    if "odoo.addons.cgsms" in sys.modules:
        return importlib.import_module(f"odoo.addons.cgsms.providers.{name}")
    addon_dir = _addon_dir()
    if addon_dir not in sys.path:
        sys.path.append(addon_dir)
    return importlib.import_module(f"providers.{name}")


_base = _providers_module("base")
E164_RE = _base.E164_RE


def count_segments(text):
    """How many SMS parts ``text`` is charged as (the addon's counter)."""
    return _base.count_segments(text).segments if text else 0


hmac_hex = _base.hmac_hex
retry_after_seconds = _base.retry_after_seconds
twilio_signature = _providers_module("twilio").twilio_signature
vonage_signature = _providers_module("vonage").vonage_signature
