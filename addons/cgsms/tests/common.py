"""Shared set-up for CgSMS tests: a real fake gateway on 127.0.0.1 and an active account."""

from odoo.tests import TransactionCase

from ..providers import fake_gateway


class CgsmsGatewayMixin:
    """Starts one FakeGateway per test class (a real HTTP server on loopback) and gives the
    current company an active sandbox account pointing at it, with credits."""

    gateway = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = fake_gateway.FakeGateway()
        cls.gateway.start()
        cls.addClassCleanup(cls.gateway.stop)
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.pt")
        cls.account = cls._cgsms_make_account(cls.company)
        cls.env["cgsms.credit.line"].create(
            {"account_id": cls.account.id, "kind": "topup", "amount": 1000, "reference": "Pack"}
        )

    def setUp(self):
        super().setUp()
        self.gateway.reset()

    @classmethod
    def _cgsms_make_account(cls, company, provider="sandbox", **vals):
        creds = {
            "sandbox": (
                fake_gateway.SANDBOX_USERNAME,
                fake_gateway.SANDBOX_TOKEN,
                fake_gateway.SANDBOX_WEBHOOK_SECRET,
            ),
            "lusosms": (
                fake_gateway.LUSOSMS_USERNAME,
                fake_gateway.LUSOSMS_PASSWORD,
                fake_gateway.LUSOSMS_WEBHOOK_SECRET,
            ),
            "vonage": (
                fake_gateway.VONAGE_API_KEY,
                fake_gateway.VONAGE_API_SECRET,
                fake_gateway.VONAGE_SIGNATURE_SECRET,
            ),
            "twilio": (fake_gateway.TWILIO_ACCOUNT_SID, fake_gateway.TWILIO_AUTH_TOKEN, ""),
        }[provider]
        creds = {"username": creds[0], "password": creds[1], "webhook_secret": creds[2]}
        return (
            cls.env["cgsms.account"]
            .sudo()
            .create(
                {
                    "company_id": company.id,
                    "provider": provider,
                    "sender": "CgSMS",
                    "base_url": cls.gateway.url,
                    **creds,
                    **vals,
                }
            )
        )

    def _gateway_messages(self):
        return list(self.gateway.messages)


class CgsmsCase(CgsmsGatewayMixin, TransactionCase):
    pass
