"""The main screens in a real browser, captured as PNG files.

Each screen is opened in headless Chromium, must render its CgSMS parts, and is captured.
With CGSMS_SCREENSHOTS=1 (scripts/screenshots.sh) the captures are written to
docs/screenshots/ for the README; otherwise to a temporary folder that is removed.
"""

import base64
import contextlib
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from odoo import Command, fields
from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from .common import CgsmsRepairsMixin

DOCS_DIR = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@tagged("post_install", "-at_install")
class TestScreenshots(CgsmsRepairsMixin, HttpCase):
    browser_size = "1280x1150"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        admin = cls.env.ref("base.user_admin")
        # The README shows the Portuguese demo: a Portuguese company in euro, its user in
        # Portuguese, and only that company's customers (not the test database's US ones).
        cls.env["res.lang"]._activate_lang("pt_PT")
        installed = cls.env["ir.module.module"].search([("state", "=", "installed")])
        cls.env["ir.module.module"]._load_module_terms(installed.mapped("name"), ["pt_PT"])
        cls.company = cls._portuguese_company()
        admin.write(
            {
                "lang": "pt_PT",
                "tz": "Europe/Lisbon",
                "name": "Sofia Marques",
                "company_ids": [Command.link(cls.company.id)],
                "company_id": cls.company.id,
            }
        )
        cls.product.name = "Portátil"
        cls.account = cls._cgsms_make_account(cls.company, name="Sandbox (demo) - Loja Demo, Lda.")
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account.id, "kind": "topup", "amount": 1000, "reference": "Pack"}
        )
        # the screens show what the user did, in the user's language, not the test's
        # superuser (OdooBot)
        env = cls.env(
            user=admin,
            context=dict(cls.env.context, lang="pt_PT", allowed_company_ids=cls.company.ids),
        )
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())
        Partner = env["res.partner"]
        pt = cls.pt
        people = Partner.create(
            [
                {"name": "Ana Ferreira", "cgsms_mobile": "912 000 101", "country_id": pt.id},
                {"name": "Bruno Santos", "cgsms_mobile": "935 000 202", "country_id": pt.id},
                {"name": "Carla Mendes", "cgsms_mobile": "961 000 303", "country_id": pt.id},
                {"name": "Duarte Lopes", "phone": "213 000 404", "country_id": pt.id},
            ]
        )
        group = env["cgsms.group"].create(
            {"name": "Clientes fiéis", "partner_ids": [Command.set(people.ids)]}
        )
        cls.message = env["cgsms.message"].create(
            {
                "name": "Promoção de primavera",
                "group_ids": [Command.set(group.ids)],
                "partner_ids": [Command.set(cls.customer.ids)],
                "free_numbers": "912 000 101; 936 555 012",
                "body": "Promoção de primavera: 20% de desconto em todas as reparações até "
                "sábado. Mostre este SMS ao balcão. Para não receber SMS, responda STOP.",
            }
        )
        today = fields.Date.context_today(env["res.partner"])
        invoices = env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": today - timedelta(days=60),
                    "invoice_date_due": today - timedelta(days=days),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Reparação",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
                for partner, days, amount in (
                    (cls.customer, 30, 120.0),
                    (cls.customer, 12, 49.9),
                    (people[1], 20, 80.0),
                )
            ]
        )
        invoices.action_post()
        cls.repair = cls._create_repair_for_screens(env)
        cls.account.with_env(env).action_test_connection()

    @classmethod
    def _portuguese_company(cls):
        euro = cls.env.ref("base.EUR")
        euro.active = True
        company = cls.env["res.company"].create(
            {
                "name": "Loja Demo, Lda.",
                "street": "Rua Augusta, 100",
                "zip": "1100-053",
                "city": "Lisboa",
                "country_id": cls.pt.id,
                "currency_id": euro.id,
            }
        )
        cls.env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
        # the generic chart is in dollars: the euro again, before any journal item exists
        company.currency_id = euro
        return company

    @classmethod
    def _create_repair_for_screens(cls, env):
        repair = env["repair.order"].create(
            {"partner_id": cls.customer.id, "product_id": cls.product.id}
        )
        for text, sms in (
            ("Equipamento recebido: o ecrã está partido. Ligamos com o orçamento.", False),
            ("O seu portátil precisa de um ecrã novo: 80 EUR. Responda SIM para avançar.", True),
        ):
            repair.write({"cgsms_new_message": text, "cgsms_send_sms": sms})
            repair.action_cgsms_add_message()
        return repair

    def setUp(self):
        super().setUp()
        if os.environ.get("CGSMS_SCREENSHOTS"):
            self.shots_dir = DOCS_DIR
            self.shots_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.shots_dir = Path(tempfile.mkdtemp(prefix="cgsms-screens-"))
            self.addCleanup(shutil.rmtree, self.shots_dir, True)

    def _shoot(self, browser, url_path, ready, name, script=None, then=None):
        browser.navigate_to(self.base_url() + url_path, wait_stop=True)
        self.assertTrue(browser._wait_ready(ready, timeout=60), f"{name}: {ready}")
        if script:
            browser._websocket_request("Runtime.evaluate", params={"expression": script})
        if then:
            self.assertTrue(browser._wait_ready(then, timeout=60), f"{name}: {then}")
        # let the last renders and the web fonts settle
        time.sleep(1.5)
        data = browser._websocket_request(
            "Page.captureScreenshot", params={"format": "png"}, timeout=30
        )["data"]
        png = base64.b64decode(data)
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), name)
        self.assertGreater(len(png), 20000, f"{name}: an empty page?")
        (self.shots_dir / f"{name}.png").write_bytes(png)
        return png

    def _text_of(self, browser, url_path, selector):
        """The text the user reads in ``selector`` once the page at ``url_path`` shows it."""
        browser.navigate_to(self.base_url() + url_path, wait_stop=True)
        found = f"document.querySelector({selector!r})"
        self.assertTrue(browser._wait_ready(f"!!{found}?.textContent.trim()", timeout=60), url_path)
        reply = browser._websocket_request(
            "Runtime.evaluate",
            params={"expression": f"{found}.textContent.trim()", "returnByValue": True},
        )
        # the page's last requests (the chatter's, the systray's) end before it is left
        time.sleep(1.5)
        return reply["result"]["value"]

    @contextlib.contextmanager
    def _logged_in_browser(self):
        """Headless Chromium, logged in as the demo's user. 19.0 serves the browser's
        requests, its last ones while it stops too, only while the test gives it its cookie."""
        browser = ChromeBrowser(self)
        allow = getattr(self, "allow_requests", None)
        try:
            self.authenticate("admin", "admin", browser=browser)
            self.cr.flush()
            self.cr.clear()
        except BaseException:
            browser.stop()
            raise
        with allow(browser=browser) if allow else contextlib.nullcontext():
            try:
                yield browser
            finally:
                browser.stop()
        self._wait_remaining_requests()

    def test_main_screens_render_and_are_captured(self):
        # 19.0 serves the browser's requests only while the test gives it its cookie
        allow = getattr(self, "allow_requests", None)
        # the customer answers the repair's SMS (the fake gateway posts the signed reply)
        self.env.flush_all()
        with allow(all_requests=True) if allow else contextlib.nullcontext():
            answer = self.gateway.reply(
                "sandbox",
                "+351912345678",
                "Obrigado! Passo aí amanhã.",
                url=self.account.inbound_url,
            )
        self.assertEqual(answer["codes"], [200])
        with self._logged_in_browser() as browser:
            self._shoot(
                browser,
                "/odoo/action-cgsms.cgsms_config_settings_action",
                "!!document.querySelector('#cgsms_provider_setting')",
                "settings",
            )
            self._shoot(
                browser,
                f"/odoo/action-cgsms.cgsms_message_action/{self.message.id}",
                "!!document.querySelector('.o_cgsms_counter_summary') && "
                "!!document.querySelector('.o_cgsms_skipped')",
                "send_form",
            )
            self._shoot(
                browser,
                "/odoo/action-cgsms.account_move_action_cgsms_overdue",
                "!!document.querySelector('.o_list_view .o_group_header')",
                "reminders",
                script="[...document.querySelectorAll('.o_list_view .o_group_header')]"
                ".find((row) => row.textContent.includes('Maria Costa')).click()",
            )
            self._shoot(
                browser,
                f"/odoo/action-repair.action_repair_order_tree/{self.repair.id}",
                "!!document.querySelector(\"a[name='cgsms_messages']\")",
                "repair_messages",
                script="document.querySelector(\"a[name='cgsms_messages']\").click();"
                "document.querySelector('.o_notebook').scrollIntoView()",
            )
            self._shoot(
                browser,
                "/odoo/action-cgsms.cgsms_reply_action",
                "!!document.querySelector('.o_list_view .o_data_row')",
                "replies",
            )
            self._shoot(
                browser,
                f"/odoo/action-cgsms.cgsms_account_action/{self.account.id}",
                "!!document.querySelector(\"div[name='route_prefixes']\")",
                "account",
            )
            # credits read with 2 decimals where the price needs no more, in sums too
            footer = self._text_of(
                browser,
                "/odoo/action-cgsms.cgsms_credit_line_action",
                ".o_list_footer .o_list_number",
            )
            stat = self._text_of(
                browser,
                f"/odoo/action-cgsms.cgsms_account_action/{self.account.id}",
                ".oe_stat_button .o_stat_value",
            )
        self.assertEqual((footer, stat), ("998,56", "998,56"))
        names = {p.stem for p in self.shots_dir.glob("*.png")}
        self.assertLessEqual(
            {"account", "reminders", "repair_messages", "replies", "send_form", "settings"},
            names,
        )

    def test_reports_render_and_are_captured(self):
        """SMS > Reporting > SMS analysis on the demo's first month: the graph, then the
        pivot."""
        sent = self.env["cgsms.account"]._cgsms_demo_first_month(self.account)
        self.assertGreater(len(sent), 100)
        self.env.flush_all()
        with self._logged_in_browser() as browser:
            self._shoot(
                browser,
                "/odoo/action-cgsms.cgsms_report_sms_action",
                "!!document.querySelector('.o_graph_renderer canvas') && "
                "!document.querySelector('.o_view_sample_data')",
                "analysis_graph",
            )
            self._shoot(
                browser,
                "/odoo/action-cgsms.cgsms_report_sms_action",
                "!!document.querySelector('.o_switch_view.o_pivot')",
                "analysis_pivot",
                script="document.querySelector('.o_switch_view.o_pivot').click()",
                then="!!document.querySelector('.o_pivot th.o_pivot_measure_row')",
            )
        names = {p.stem for p in self.shots_dir.glob("*.png")}
        self.assertLessEqual({"analysis_graph", "analysis_pivot"}, names)
