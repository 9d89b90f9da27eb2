"""What a Portuguese user reads: each addon's pt.po, as Odoo loads it, in the database."""

import re
from collections import defaultdict

import polib
from lxml import etree

from odoo.tools.misc import file_path

REFERENCE = re.compile(r"(model|model_terms):([\w.]+),(\w+):(\w+)\.(\S+)")
CHECKED_MODELS = ("ir.ui.view", "ir.ui.menu", "ir.actions.act_window")


class PortugueseTranslationsMixin:
    """Loads the module's pt.po the way an install does (once per class: ``pt_module``),
    then reads the views, menus and actions of the module in pt_PT."""

    pt_module = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_PT")
        cls.env["ir.module.module"].search([("name", "=", cls.pt_module)])._update_translations(
            "pt_PT", overwrite=True
        )

    def _pt_load(self, module):
        self.assertEqual(module, self.pt_module, "loaded once, by setUpClass")

    def _pt_expected(self, module):
        """{(model, field, xmlid): {english: portuguese}} of pt.po for ``module``."""
        expected = defaultdict(dict)
        for entry in polib.pofile(file_path(f"{module}/i18n/pt.po")):
            for occurrence, _line in entry.occurrences:
                match = REFERENCE.match(occurrence)
                if match and match[2] in CHECKED_MODELS:
                    key = (match[2], match[3], f"{match[4]}.{match[5]}")
                    expected[key][entry.msgid] = entry.msgstr
        return expected

    def _pt_untranslated(self, module):
        """Texts of ``module``'s views, menus and actions that pt.po translates and the
        database does not show in pt_PT, as readable lines."""
        self._pt_load(module)
        wrong = []
        for (_model, field_name, xmlid), terms in self._pt_expected(module).items():
            record = self.env.ref(xmlid, raise_if_not_found=False)
            if not record:
                continue  # a record of the other Odoo series
            field = record._fields[field_name]
            english = record.with_context(lang="en_US")[field_name]
            portuguese = record.with_context(lang="pt_PT")[field_name]
            if callable(field.translate):
                found = field.get_translation_dictionary(english, {"pt_PT": portuguese})
                for source, value in terms.items():
                    if source not in found:
                        continue  # an old reference: the text is no longer in the view
                    got = found[source].get("pt_PT")
                    if got != value:
                        wrong.append(f"{xmlid}: {source!r} reads {got!r}, pt.po says {value!r}")
            elif portuguese != terms.get(english, portuguese):
                wrong.append(
                    f"{xmlid}: {english!r} reads {portuguese!r}, pt.po says {terms[english]!r}"
                )
        return wrong

    def _pt_views_without_entry(self, module):
        """Texts of ``module``'s views that pt.po does not translate for that view."""
        self._pt_load(module)
        expected = self._pt_expected(module)
        missing = []
        views = self.env["ir.model.data"].search(
            [("module", "=", module), ("model", "=", "ir.ui.view")]
        )
        for data in views:
            view = self.env["ir.ui.view"].browse(data.res_id)
            xmlid = f"{module}.{data.name}"
            terms = view._fields["arch_db"].get_trans_terms(
                view.with_context(lang="en_US").arch_db or ""
            )
            known = expected.get(("ir.ui.view", "arch_db", xmlid), {})
            missing += [f"{xmlid}: {term!r}" for term in terms if term not in known]
        menus = self.env["ir.model.data"].search(
            [("module", "=", module), ("model", "=", "ir.ui.menu")]
        )
        for data in menus:
            if f"{module}.{data.name}" not in {
                key[2] for key in expected if key[0] == "ir.ui.menu"
            }:
                missing.append(f"{module}.{data.name}: menu")
        return missing

    def _pt_view_fields_without_entry(self, module):
        """Labels and choices of the fields that ``module``'s views show (their own fields,
        those of inherited views and of the lists inside a field) that are CgSMS's to
        translate and that no pt.po of CgSMS translates, or that the database does not show
        in pt_PT. A view text is the view's term; a field's label and its choices are the
        field's own terms (``model:ir.model.fields...``), kept apart from the view."""
        self._pt_load(module)
        missing, seen = [], set()
        views = self.env["ir.model.data"].search(
            [("module", "=", module), ("model", "=", "ir.ui.view")]
        )
        for data in views:
            view = self.env["ir.ui.view"].browse(data.res_id).with_context(lang="en_US")
            for model, fname in _view_fields(self.env, view.model, etree.fromstring(view.arch_db)):
                if (model, fname) not in seen:
                    seen.add((model, fname))
                    missing += self._pt_field_without_entry(module, model, fname)
        return missing

    def _pt_field_without_entry(self, module, model, fname):
        field = self.env["ir.model.fields"]._get(model, fname)
        if not field:
            return []
        terms = [(field, "field_description", "model:ir.model.fields,field_description")]
        terms += [
            (choice, "name", "model:ir.model.fields.selection,name")
            for choice in field.selection_ids
        ]
        missing = []
        for record, fname_, kind in terms:
            xmlids = self.env["ir.model.data"].search(
                [("model", "=", record._name), ("res_id", "=", record.id)]
            )
            if not xmlids or any(not data.module.startswith("cgsms") for data in xmlids):
                continue  # Odoo's own field or choice (we may extend it): Odoo translates it
            found = None
            for data in xmlids:
                entry = self._pt_entries(data.module).get(f"{kind}:{data.module}.{data.name}")
                if entry is not None:
                    found = (data.module, entry)
                    break
            english = record.with_context(lang="en_US")[fname_]
            where = f"{model}.{fname} ({xmlids[0].module}.{xmlids[0].name})"
            if found is None:
                missing.append(f"{where}: {english!r} has no pt.po entry")
                continue
            owner, entry = found
            portuguese = record.with_context(lang="pt_PT")[fname_]
            if owner == module and portuguese != entry.msgstr:
                missing.append(
                    f"{where}: {english!r} reads {portuguese!r}, pt.po says {entry.msgstr!r}"
                )
        return missing

    def _pt_entries(self, module):
        """{occurrence: entry} of ``module``'s pt.po (empty for a module without one)."""
        cache = self.__dict__.setdefault("_pt_entries_cache", {})
        if module not in cache:
            try:
                path = file_path(f"{module}/i18n/pt.po")
            except FileNotFoundError:
                path = None
            cache[module] = {
                occurrence: entry
                for entry in (polib.pofile(path) if path else [])
                for occurrence, _line in entry.occurrences
            }
        return cache[module]


def _view_fields(env, model, node):
    """``(model, field name)`` of each field of a view's arch, the fields of a list or form
    inside a relational field being those of its comodel."""
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "field" and child.get("name"):
            field = env[model]._fields.get(child.get("name")) if model in env else None
            if field is None:
                continue
            yield model, field.name
            yield from _view_fields(env, field.comodel_name or model, child)
        else:
            yield from _view_fields(env, model, child)
