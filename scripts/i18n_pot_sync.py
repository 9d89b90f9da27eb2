"""Adds to each addon's .pot what its pt.po has and the .pot lacks (entries, references).

Odoo merges the .pot into the .po when it loads a translation (``PoFileReader``): it takes
the references from the .pot and drops every entry the .pot does not have. A translation
added to pt.po alone therefore never reaches the database. scripts/i18n.sh regenerates the
.pot from a database; this script is the quick fix after editing pt.po by hand:

    .venv/bin/python scripts/i18n_pot_sync.py [addon ...]
"""

import sys
from pathlib import Path

import polib

ADDONS = Path(__file__).resolve().parent.parent / "addons"


def missing_in_pot(po, pot):
    """(entries of ``po`` the .pot lacks, {msgid: references the .pot entry lacks})."""
    by_msgid = {(e.msgctxt, e.msgid): e for e in pot}
    entries, references = [], {}
    for entry in po:
        if entry.obsolete or not entry.msgid:
            continue
        known = by_msgid.get((entry.msgctxt, entry.msgid))
        if known is None:
            entries.append(entry)
            continue
        lacking = [o for o in entry.occurrences if o not in known.occurrences]
        if lacking:
            references[(entry.msgctxt, entry.msgid)] = lacking
    return entries, references


def sync(addon):
    po_path = ADDONS / addon / "i18n" / "pt.po"
    pot_path = ADDONS / addon / "i18n" / f"{addon}.pot"
    po, pot = polib.pofile(str(po_path)), polib.pofile(str(pot_path), wrapwidth=78)
    entries, references = missing_in_pot(po, pot)
    by_msgid = {(e.msgctxt, e.msgid): e for e in pot}
    for key, lacking in references.items():
        by_msgid[key].occurrences.extend(lacking)
    for entry in entries:
        pot.append(
            polib.POEntry(
                msgid=entry.msgid,
                msgid_plural=entry.msgid_plural,
                msgctxt=entry.msgctxt,
                msgstr="",
                msgstr_plural={0: "", 1: ""} if entry.msgid_plural else {},
                occurrences=entry.occurrences,
                # Odoo cannot read an entry without its module
                comment=entry.comment or f"module: {addon}",
                flags=entry.flags,
            )
        )
    if entries or references:
        pot.save(str(pot_path))
    print(f"{addon}: {len(entries)} entries and {len(references)} references added to the .pot")


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(p.parent.parent.name for p in ADDONS.glob("*/i18n/pt.po")):
        sync(name)
