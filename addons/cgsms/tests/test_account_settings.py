import socket

from odoo.tests import Form, tagged

from .common import CgsmsCase, fake_gateway


@tagged("post_install", "-at_install")
class TestAccountSettings(CgsmsCase):
    def _settings_form(self):
        return Form(self.env["res.config.settings"])

    def test_provider_changed_and_same_gateway_url_typed_keeps_the_url(self):
        # The demo's sandbox account talks to the fake gateway, which also speaks LusoSMS:
        # switch the provider and type the gateway's address in the same save.
        with self._settings_form() as form:
            form.cgsms_provider = "lusosms"
            form.cgsms_username = fake_gateway.LUSOSMS_USERNAME
            form.cgsms_password = fake_gateway.LUSOSMS_PASSWORD
            form.cgsms_base_url = self.gateway.url
        form.record.execute()
        self.assertEqual(self.account.provider, "lusosms")
        self.assertEqual(self.account.base_url, self.gateway.url)
        action = form.record.action_cgsms_test_connection()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])

    def test_provider_and_api_url_changed_in_one_save_keep_the_typed_url(self):
        typed_url = self.gateway.url + "/"
        with self._settings_form() as form:
            form.cgsms_provider = "lusosms"
            form.cgsms_username = fake_gateway.LUSOSMS_USERNAME
            form.cgsms_password = fake_gateway.LUSOSMS_PASSWORD
            form.cgsms_base_url = typed_url
        form.record.execute()
        self.assertEqual(self.account.provider, "lusosms")
        self.assertEqual(self.account.base_url, typed_url)
        # The settings screen shows it again when it is opened the next time.
        self.assertEqual(self._settings_form().cgsms_base_url, typed_url)

    def test_provider_changed_shows_the_new_provider_standard_address(self):
        self.account.write({"provider": "lusosms", "base_url": "https://www.lusosms.com"})
        form = self._settings_form()
        form.cgsms_provider = "twilio"
        self.assertEqual(form.cgsms_base_url, "https://api.twilio.com")
        form.save().execute()
        self.assertEqual(self.account.base_url, "https://api.twilio.com")

    def test_emptied_api_url_goes_back_to_the_provider_standard_address(self):
        with self._settings_form() as form:
            form.cgsms_provider = "twilio"
            form.cgsms_base_url = False
        form.record.execute()
        self.assertEqual(self.account.base_url, "https://api.twilio.com")

    def test_provider_changed_on_the_account_keeps_a_self_hosted_url(self):
        self.account.provider = "vonage"
        self.assertEqual(self.account.base_url, self.gateway.url)
        other = self._cgsms_make_account(
            self.env["res.company"].create({"name": "Outra"}), base_url="https://www.lusosms.com"
        )
        other.provider = "twilio"
        self.assertEqual(other.base_url, "https://api.twilio.com")

    def test_connection_error_names_the_problem_once(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        self.account.base_url = f"http://127.0.0.1:{closed_port}"
        action = self.account.action_test_connection()
        message = action["params"]["message"]
        self.assertEqual(action["params"]["type"], "danger")
        self.assertNotIn("connection connection", message)
        self.assertIn(f"127.0.0.1:{closed_port}", message)
        self.assertIn("API URL", message)
