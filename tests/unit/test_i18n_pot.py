"""The .pot of each addon holds every entry and reference of its pt.po.

Odoo merges the .pot into pt.po when it loads a translation and keeps only what the .pot
has: a translation missing from the .pot never reaches the database (the delivery-report
settings and views stayed in English that way). scripts/i18n_pot_sync.py fixes the .pot.
"""

import importlib.util
import os

import polib
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADDONS = ("cgsms", "cgsms_repairs", "cgsms_queue_job", "cgsms_mass_mailing")


def _sync_module():
    spec = importlib.util.spec_from_file_location(
        "i18n_pot_sync", os.path.join(ROOT, "scripts", "i18n_pot_sync.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("addon", ADDONS)
def test_pot_has_every_translation_and_reference_of_pt_po(addon):
    i18n = os.path.join(ROOT, "addons", addon, "i18n")
    po, pot = (
        polib.pofile(os.path.join(i18n, "pt.po")),
        polib.pofile(os.path.join(i18n, f"{addon}.pot")),
    )
    entries, references = _sync_module().missing_in_pot(po, pot)
    assert not entries and not references, (
        f"{addon}.pot lacks {[e.msgid[:60] for e in entries]} and references {references}: "
        "run scripts/i18n_pot_sync.py"
    )


@pytest.mark.parametrize("addon", ADDONS)
def test_pt_po_translates_every_entry(addon):
    po = polib.pofile(os.path.join(ROOT, "addons", addon, "i18n", "pt.po"))
    assert not [e.msgid for e in po.untranslated_entries()]
    assert not [e.msgid for e in po.fuzzy_entries()]


@pytest.mark.parametrize("addon", ADDONS)
@pytest.mark.parametrize("filename", ["pt.po", "{addon}.pot"])
def test_every_entry_names_its_module(addon, filename):
    # Odoo stops reading the whole file at an entry without "#. module: <addon>".
    path = os.path.join(ROOT, "addons", addon, "i18n", filename.format(addon=addon))
    assert not [e.msgid for e in polib.pofile(path) if f"module: {addon}" not in (e.comment or "")]
