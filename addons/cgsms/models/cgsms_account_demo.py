"""Demo data: the first month of a shop that sends SMS, for the reports (scripts/run.sh and
the screenshots record it on the demo's provider account)."""

import random
from datetime import datetime, time, timedelta
from uuid import uuid4

from odoo import api, fields, models

from ..tools.phone import normalize_number

# (days ago, subject, text, recipients): the shop's two campaigns of the month
CAMPAIGNS = (
    (
        20,
        "Promoção de primavera",
        "Promoção de primavera: 20% de desconto em todas as reparações de telemóveis, "
        "tablets e portáteis até sábado. Mostre este SMS ao balcão da loja. Para não receber "
        "SMS, responda STOP.",
        42,
    ),
    (
        6,
        "Novos acessórios",
        "Chegaram capas e carregadores para os últimos modelos de telemóvel. Passe pela loja! "
        "Para não receber SMS, responda STOP.",
        36,
    ),
)
# what the shop sends every day, by itself or by hand: (document model, text)
DAILY = (
    ("account.move", "Estimado Cliente, a sua fatura foi emitida. Obrigado pela preferência."),
    (
        "account.move",
        "Estimado Cliente, tem fatura(s) com pagamentos em atraso. Por favor, normalize a "
        "situação. Cumprimentos",
    ),
    ("repair.order", "O seu equipamento está pronto. Pode levantá-lo na loja."),
    ("res.partner", "Olá, a sua encomenda chegou. Até já!"),
)
# numbers of visitors from abroad, by calling code
ABROAD = ("+34", "+33", "+44")
REPLIES = ("Obrigado!", "Ok, passo amanhã.", "Qual é o horário?", "STOP")


class CgsmsAccount(models.Model):
    _inherit = "cgsms.account"

    @api.model
    def _cgsms_demo_first_month(self, account, days=30):
        """Record on ``account`` (demo data) a month of a shop's SMS: a pack bought on the
        first day, campaigns and daily SMS with their delivery reports, refunds, replies and
        opt-outs, as the delivery engine would have recorded them. Returns the SMS recorded."""
        rng = random.Random(account.id)
        account = account.sudo()
        start = datetime.combine(fields.Date.today() - timedelta(days=days - 1), time(9, 0))
        self.env["cgsms.credit.line"].sudo().create(
            {
                "account_id": account.id,
                "kind": "topup",
                "amount": 1440,
                "reference": self.env._("Demo pack (1000 SMS)"),
                "date": start,
            }
        )
        partners = self._cgsms_demo_partners()
        sent = self.env["cgsms.recipient"]
        for day in range(days):
            date = start + timedelta(days=day)
            # shops close on Sunday
            if date.weekday() == 6 or date > fields.Datetime.now():
                continue
            for ago, subject, text, count in CAMPAIGNS:
                if day == days - 1 - ago:
                    sent |= self._cgsms_demo_campaign(account, rng, date, subject, text, count)
            for _index in range(rng.randint(3, 9)):
                model, text = rng.choice(DAILY)
                if model not in self.env:
                    model = "res.partner"
                # a known customer now and then, else a number typed on the document
                partner, number = rng.choice(partners) if rng.random() < 0.3 else (None, None)
                target = (partner or self.env["res.partner"], number or _demo_number(rng))
                moment = date + timedelta(minutes=rng.randint(0, 540))
                sent |= self._cgsms_demo_sms(account, rng, moment, [target], text, model=model)
        self._cgsms_demo_replies(account, rng, sent)
        return sent

    @api.model
    def _cgsms_demo_partners(self):
        """``[(partner, number)]`` of the demo's customers with a mobile number."""
        partners = []
        for xmlid in (
            "cgsms.partner_demo_ana",
            "cgsms.partner_demo_joao",
            "cgsms.partner_demo_carla",
            "cgsms.partner_demo_rita",
        ):
            partner = self.env.ref(xmlid, raise_if_not_found=False)
            number = partner and normalize_number(partner.cgsms_mobile, "PT")
            if number and number.valid:
                partners.append((partner, number.e164))
        return partners or [(None, None)]

    @api.model
    def _cgsms_demo_campaign(self, account, rng, date, subject, text, count):
        message = (
            self.env["cgsms.message"]
            .sudo()
            .create(
                {
                    "name": subject,
                    "body": text,
                    "company_id": account.company_id.id,
                    "state": "done",
                    "user_id": self.env.ref("base.user_admin").id,
                }
            )
        )
        numbers = [(self.env["res.partner"], _demo_number(rng)) for _index in range(count)]
        return self._cgsms_demo_sms(
            account, rng, date + timedelta(hours=1), numbers, text, message=message
        )

    @api.model
    def _cgsms_demo_sms(self, account, rng, date, targets, text, model=None, message=None):
        """The history lines and ledger debits of ``targets`` (``(partner, number)``) sent
        at ``date``, most delivered, a few not (refunded) or refused."""
        segments = 1 if len(text) <= 160 else 2
        vals, refunds = [], []
        for partner, number in targets:
            roll = rng.random()
            state, error, left = "delivered", False, True
            if roll > 0.97:
                state, error, left = "failed", "invalid_number", False
            elif roll > 0.93:
                state, error = "failed", "undelivered"
            elif roll > 0.90:
                state = "sent"
            cost = segments * account.cost_per_segment if left else 0.0
            vals.append(
                {
                    "company_id": account.company_id.id,
                    "account_id": account.id,
                    "partner_id": partner.id,
                    "number": number,
                    "typed_number": number,
                    "body": text,
                    "state": state,
                    "error_class": error,
                    "failure_reason": error
                    and dict(self.env["cgsms.recipient"]._fields["error_class"].selection)[error],
                    "segments": segments if left else 0,
                    "encoding": "GSM-7",
                    "cost": cost,
                    "sms_uuid": uuid4().hex,
                    "provider_message_id": left and f"demo-{uuid4().hex[:16]}",
                    "date_attempt": date,
                    "date_sent": left and date,
                    "date_done": state in ("delivered", "failed") and date + timedelta(seconds=8),
                    "res_model": message._name if message else model,
                    "res_id": message.id
                    if message
                    else partner.id
                    if model == "res.partner"
                    else 0,
                    "message_id": message.id if message else False,
                }
            )
        sender = message.user_id if message else self.env.ref("base.user_admin")
        lines = self.env["cgsms.recipient"].with_user(sender).sudo().create(vals)
        debits = [(line.id, line.number, line.segments, -line.cost) for line in lines if line.cost]
        self.env["cgsms.credit.line"]._cgsms_insert_debits(account, debits, date)
        for line in lines.filtered(lambda r: r.error_class == "undelivered"):
            refunds.append(
                {
                    "account_id": account.id,
                    "kind": "refund",
                    "amount": line.cost,
                    "recipient_id": line.id,
                    "segments": line.segments,
                    "reference": self.env._("Undelivered SMS"),
                    "date": date + timedelta(seconds=8),
                }
            )
        if refunds and account.refund_undelivered:
            self.env["cgsms.credit.line"].sudo().create(refunds)
            lines.filtered(lambda r: r.error_class == "undelivered").write({"cost": 0.0})
        return lines

    @api.model
    def _cgsms_demo_replies(self, account, rng, sent):
        """Customers answer a few SMS; some opt out of the campaigns (STOP); one number
        nobody sent to writes too."""
        answered = rng.sample(list(sent.filtered(lambda r: r.state == "delivered")), 14)
        vals = []
        for line in answered:
            body = rng.choice(REPLIES) if line.message_id else rng.choice(REPLIES[:3])
            vals.append(
                {
                    "number": line.number,
                    "partner_id": line.partner_id.id,
                    "body": body,
                    "account_id": account.id,
                    "company_id": account.company_id.id,
                    "provider_message_id": f"demo-in-{uuid4().hex[:16]}",
                    "date_received": line.date_sent + timedelta(minutes=rng.randint(2, 240)),
                    "keyword": "stop" if body == "STOP" else False,
                    "recipient_id": line.id,
                    "is_matched": True,
                    "is_read": True,
                    "res_model": line.res_model,
                    "res_id": line.res_id,
                }
            )
        vals.append(
            {
                "number": _demo_number(rng),
                "body": "Bom dia, ainda têm a promoção?",
                "account_id": account.id,
                "company_id": account.company_id.id,
                "provider_message_id": f"demo-in-{uuid4().hex[:16]}",
                "date_received": fields.Datetime.now() - timedelta(days=2),
                "is_matched": False,
            }
        )
        replies = self.env["cgsms.reply"].sudo().create(vals)
        stops = replies.filtered(lambda r: r.keyword == "stop")
        if stops:
            self.env["phone.blacklist"].sudo()._add(stops.mapped("number"))
        return replies


def _demo_number(rng):
    if rng.random() < 0.06:
        return f"{rng.choice(ABROAD)}6{rng.randint(10000000, 99999999)}"
    return f"+3519{rng.choice('1236')}{rng.randint(1000000, 9999999)}"
