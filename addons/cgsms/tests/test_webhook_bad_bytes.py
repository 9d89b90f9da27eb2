"""Any bytes a provider or an attacker can post to the public webhooks (replies and delivery
reports): NUL and control characters, lone surrogates, invalid UTF-8 in forms, JSON and query
strings, wrong types, missing fields, huge values. Each is answered 4xx, or recorded whole
and clean; never 500, nothing half-written, and the server keeps answering."""

import json
from urllib.parse import parse_qsl, quote, urlencode

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..providers.base import clean_text, hmac_hex
from ..providers.twilio import twilio_signature
from ..providers.vonage import vonage_signature
from .common import fake_gateway
from .replies_common import CUSTOMER, CgsmsRepliesMixin

ANSWERS = {200, 400, 403, 404, 413, 429}
HOSTILE_TEXTS = {
    "nul": "Olá\x00 mundo",
    "controls": "a\x01b\x07c\x1bd\x7fe\x85f",
    "lone surrogate": "Olá \ud800 mundo",
    "reversed surrogates": "\udc00\ud800",
}
LOGGERS = ("odoo.addons.cgsms.controllers.inbound", "odoo.addons.cgsms.controllers.main")


@tagged("post_install", "-at_install")
class TestWebhookBadBytes(CgsmsRepliesMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.twilio = cls._cgsms_provider_account("twilio")
        cls.vonage = cls._cgsms_provider_account("vonage")
        cls.lusosms = cls._cgsms_provider_account("lusosms")

    # ------------------------------------------------------------------ signing

    def _path(self, kind, account):
        return f"/cgsms/{kind}/{account.provider}/{account.id}"

    def _post(self, kind, account, body, headers=None, query=""):
        self.env.flush_all()
        path = self._path(kind, account) + (f"?{query}" if query else "")
        if body is None:
            response = self.url_open(path, headers=headers or {})
        else:
            response = self.url_open(path, data=body, headers=headers or {})
        self.env.invalidate_all()
        return response

    def _hmac_post(self, kind, account, body, content_type="application/json", secret=None):
        header = {"sandbox": "X-Sandbox-Signature", "lusosms": "X-LusoSMS-Signature"}
        signature = hmac_hex(secret or account.webhook_secret, body)
        headers = {header[account.provider]: signature, "Content-Type": content_type}
        return self._post(kind, account, body, headers)

    def _twilio_post(self, kind, body, token=None):
        # the gateway's credentials are read when the test runs: without the test package
        # this module must still import (its tests are then skipped)
        token = token or fake_gateway.TWILIO_AUTH_TOKEN
        url = self.base_url() + self._path(kind, self.twilio)
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            signature = twilio_signature(token, url, params)
        except UnicodeError:  # not UTF-8: nobody can sign it as Twilio does
            signature = "bm90IGEgc2lnbmF0dXJl"
        headers = {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return self._post(kind, self.twilio, body, headers)

    def _vonage_json(self, kind, data, secret=None):
        secret = secret or fake_gateway.VONAGE_SIGNATURE_SECRET
        data = {**data, "timestamp": "1733580000"}
        try:
            data["sig"] = vonage_signature(secret, data)
        except (UnicodeError, TypeError, AttributeError):
            data["sig"] = "0" * 32  # cannot be signed: posted with a wrong signature
        body = json.dumps(data).encode()
        return self._post(kind, self.vonage, body, {"Content-Type": "application/json"})

    def _vonage_get(self, kind, query):
        return self._post(kind, self.vonage, None, query=query)

    # ------------------------------------------------------------------ checks

    def _check(self, response, what):
        self.assertIn(response.status_code, ANSWERS, f"{what}: {response.text[:200]}")
        return response.status_code

    def _clean(self, text):
        self.assertNotIn("\x00", text or "")
        (text or "").encode("utf-8")  # no lone surrogate left

    def _reply_ids(self):
        return set(self.env["cgsms.reply"].search([]).ids)

    def _server_still_answers(self):
        reply = self._customer_reply(self.accounts["sandbox"], "Ainda aqui?")
        self.assertEqual(reply.body, "Ainda aqui?")

    # ------------------------------------------------------------------ replies

    @mute_logger(*LOGGERS)
    def test_hostile_text_in_a_signed_reply_recorded_clean_for_each_provider(self):
        sandbox = self.accounts["sandbox"]
        for name, text in HOSTILE_TEXTS.items():
            sent = {
                "sandbox": lambda text=text, name=name: self._hmac_post(
                    "in",
                    sandbox,
                    json.dumps({"id": f"sb-{name}", "from": CUSTOMER, "text": text}).encode(),
                ),
                "twilio": lambda text=text, name=name: self._twilio_post(
                    "in",
                    urlencode(
                        {
                            "MessageSid": f"SM{name}",
                            "AccountSid": fake_gateway.TWILIO_ACCOUNT_SID,
                            "From": CUSTOMER,
                            "Body": text,
                        },
                        encoding="utf-8",
                        errors="surrogatepass",
                    ).encode(),
                ),
                "vonage": lambda text=text, name=name: self._vonage_json(
                    "in", {"msisdn": CUSTOMER[1:], "messageId": f"vn-{name}", "text": text}
                ),
            }
            for provider, post in sent.items():
                with self.subTest(provider=provider, text=name):
                    before = self._reply_ids()
                    code = self._check(post(), f"{provider} {name}")
                    new = self.env["cgsms.reply"].browse(self._reply_ids() - before)
                    # a surrogate percent-encoded in a form is three bytes that are not UTF-8:
                    # each is read as one replacement character
                    as_read = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                    if code == 200:
                        self.assertEqual(len(new), 1)
                        self.assertEqual(
                            new.body, clean_text(as_read if provider == "twilio" else text)
                        )
                        self._clean(new.body)
                    else:
                        self.assertFalse(new)
        self._server_still_answers()

    @mute_logger(*LOGGERS)
    def test_nul_in_a_signed_twilio_reply_recorded_without_it(self):
        body = urlencode(
            {
                "MessageSid": "SMnul",
                "AccountSid": fake_gateway.TWILIO_ACCOUNT_SID,
                "From": CUSTOMER,
                "Body": "Sim\x00, obrigado",
            }
        ).encode()
        self.assertEqual(self._twilio_post("in", body).status_code, 200)
        self.assertEqual(self._replies(self.twilio).body, "Sim, obrigado")

    @mute_logger(*LOGGERS)
    def test_lone_surrogate_with_a_wrong_vonage_secret_refused_403(self):
        data = {"msisdn": CUSTOMER[1:], "messageId": "vn-x", "text": "\ud800", "sig": "a" * 32}
        body = json.dumps({**data, "timestamp": "1"}).encode()
        for kind in ("in", "dlr"):
            with self.subTest(kind=kind):
                response = self._post(kind, self.vonage, body, {"Content-Type": "application/json"})
                self.assertEqual(response.status_code, 403)
        self.assertFalse(self._replies(self.vonage))

    @mute_logger(*LOGGERS)
    def test_malformed_replies_refused_and_nothing_written(self):
        sandbox = self.accounts["sandbox"]
        bodies = {
            "array": b"[1, 2]",
            "number": b"42",
            "string": b'"STOP"',
            "no fields": b"{}",
            "text a number": json.dumps({"id": "a", "from": CUSTOMER, "text": 7}).encode(),
            "text a list": json.dumps({"id": "b", "from": CUSTOMER, "text": ["STOP"]}).encode(),
            "id an object": json.dumps({"id": {"x": 1}, "from": CUSTOMER}).encode(),
            "from not a number": json.dumps({"id": "c", "from": "STOP", "text": "x"}).encode(),
            "huge text": json.dumps({"id": "d", "from": CUSTOMER, "text": "x" * 5000}).encode(),
            "huge id": json.dumps({"id": "e" * 5000, "from": CUSTOMER}).encode(),
            "invalid utf-8": b'{"id": "f", "from": "' + CUSTOMER.encode() + b'", "text": "\xff"}',
            "deep": b"[" * 5000 + b"]" * 5000,
            "too large": b"{" + b" " * (70 * 1024) + b"}",
        }
        forms = {
            "invalid utf-8": b"MessageSid=SM1&From=%2B351912000111&Body=\xff\xfe",
            "percent invalid utf-8": b"MessageSid=SM2&From=%2B351912000111&Body=%ff%fe",
            "missing fields": b"Body=STOP",
            "sender not a number": b"MessageSid=SM3&From=STOP&Body=STOP",
        }
        vonage = {
            "array": [1, 2],
            "text an object": {"msisdn": CUSTOMER[1:], "messageId": "v1", "text": {"a": 1}},
            "missing fields": {"text": "STOP"},
            "parts out of range": {
                "msisdn": CUSTOMER[1:],
                "messageId": "v2",
                "text": "x",
                "concat": "true",
                "concat-ref": "1",
                "concat-part": "9",
                "concat-total": "2",
            },
        }
        before = self._reply_ids()
        for name, body in bodies.items():
            with self.subTest(provider="sandbox", body=name):
                self.assertGreaterEqual(
                    self._check(self._hmac_post("in", sandbox, body), name), 400
                )
        for name, body in forms.items():
            with self.subTest(provider="twilio", body=name):
                self.assertGreaterEqual(self._check(self._twilio_post("in", body), name), 400)
        for name, data in vonage.items():
            with self.subTest(provider="vonage", body=name):
                if isinstance(data, list):
                    body = json.dumps(data).encode()
                    response = self._post(
                        "in", self.vonage, body, {"Content-Type": "application/json"}
                    )
                else:
                    response = self._vonage_json("in", data)
                self.assertGreaterEqual(self._check(response, name), 400)
        for name, query in {
            "percent invalid utf-8": "msisdn=351912000111&messageId=q1&text=%ff%fe&sig=x",
            "nul": "msisdn=351912000111&messageId=q2&text=%00&timestamp=1&sig=" + "0" * 32,
            "surrogate escape": "msisdn=351912000111&messageId=q3&text="
            + quote("\udcff", errors="surrogateescape"),
        }.items():
            with self.subTest(provider="vonage GET", query=name):
                self.assertGreaterEqual(self._check(self._vonage_get("in", query), name), 400)
        self.assertEqual(self._reply_ids(), before)
        self._server_still_answers()

    # ------------------------------------------------------------------ delivery reports

    @mute_logger(*LOGGERS)
    def test_hostile_delivery_reports_never_500_for_each_provider(self):
        sandbox = self.accounts["sandbox"]
        recipient = self._send_sms(sandbox)
        target = recipient.provider_message_id
        reports_before = self.env["cgsms.delivery.report"].search_count([])
        for name, text in HOSTILE_TEXTS.items():
            payloads = {
                "sandbox": lambda text=text: self._hmac_post(
                    "dlr", sandbox, json.dumps({"id": text, "status": "delivered"}).encode()
                ),
                "lusosms": lambda text=text: self._hmac_post(
                    "dlr",
                    self.lusosms,
                    urlencode({"id": text, "status": "DELIVERED"}, errors="surrogatepass").encode(),
                    "application/x-www-form-urlencoded",
                ),
                "twilio": lambda text=text: self._twilio_post(
                    "dlr",
                    urlencode(
                        {"MessageSid": text, "MessageStatus": "delivered"}, errors="surrogatepass"
                    ).encode(),
                ),
                "vonage": lambda text=text: self._vonage_json(
                    "dlr", {"messageId": text, "status": "delivered", "err-code": "0"}
                ),
            }
            for provider, post in payloads.items():
                with self.subTest(provider=provider, text=name):
                    self._check(post(), f"{provider} {name}")
        for name, body in {
            "array": b"[[1]]",
            "status a list": json.dumps({"id": target, "status": ["delivered"]}).encode(),
            "missing fields": b"{}",
            "invalid utf-8": b'{"id": "\xff", "status": "delivered"}',
            "huge id": json.dumps({"id": "x" * 5000, "status": "delivered"}).encode(),
        }.items():
            with self.subTest(provider="sandbox", body=name):
                self.assertGreaterEqual(
                    self._check(self._hmac_post("dlr", sandbox, body), name), 400
                )
        for name, body in {
            "invalid utf-8": b"id=\xff&status=DELIVERED",
            "missing fields": b"status=DELIVERED",
        }.items():
            with self.subTest(provider="lusosms", body=name):
                response = self._hmac_post(
                    "dlr", self.lusosms, body, "application/x-www-form-urlencoded"
                )
                self.assertGreaterEqual(self._check(response, name), 400)
        with self.subTest(provider="vonage GET"):
            self._check(self._vonage_get("dlr", "messageId=%ff%00&status=delivered&sig=x"), "q")
        for kept in self.env["cgsms.delivery.report"].search([]):
            self._clean(kept.provider_message_id)
        self.assertLessEqual(
            self.env["cgsms.delivery.report"].search_count([]) - reports_before,
            len(HOSTILE_TEXTS) * 4,
        )
        self.assertEqual(recipient.state, "sent")  # nothing applied to the genuine SMS
        self._server_still_answers()
