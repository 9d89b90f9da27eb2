from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, TransactionCase, new_test_user, tagged

from .common import CgsmsRepairsMixin

GSM7_160 = "Reparacao pronta. " + "x" * 142
UCS2_70 = "Reparação pronta. " + "x" * 52
# A repair message as the manual writes them: 84 characters with accents.
MANUAL_MESSAGE = (
    "Olá! Informamos que o seu telemóvel já está reparado. Pode levantá-lo na nossa loja."
)


@tagged("post_install", "-at_install")
class TestRepairSms(CgsmsRepairsMixin, TransactionCase):
    def _form(self, repair=None):
        if repair:
            return Form(repair)
        form = Form(self.env["repair.order"])
        form.partner_id = self.customer
        form.product_id = self.product
        return form

    def _assert_refused(self, form, exception, text):
        with self.assertRaises(exception):
            form.save()
        self.assertFalse(self._gateway_messages(), "nothing may be sent")
        self.assertEqual(form.cgsms_new_message, text, "the typed message stays in the form")
        self.assertTrue(form.cgsms_send_sms, "the option stays ticked")

    def test_new_repair_saved_with_option_sends_one_sms(self):
        form = self._form()
        form.cgsms_new_message = "Recebemos o seu equipamento."
        form.cgsms_send_sms = True
        repair = form.save()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["to"], "+351912345678")
        self.assertEqual(sent[0]["body"], "Recebemos o seu equipamento.")
        self.assertFalse(repair.cgsms_new_message)
        self.assertFalse(repair.cgsms_send_sms)
        line = self._repair_messages(repair)
        self.assertEqual(len(line), 1)
        self.assertTrue(line.is_sms)
        self.assertEqual(line.body, "Recebemos o seu equipamento.")
        self.assertEqual(line.number, "+351912345678")
        self.assertEqual(line.sms_state, "sent")
        self.assertEqual(line.message_id.message_type, "sms")
        self.assertEqual(
            line.message_id.subtype_id, self.env.ref("cgsms_repairs.mt_repair_message")
        )

    def test_repair_user_without_sms_rights_is_refused_by_default(self):
        user = new_test_user(self.env, "repair.clerk", groups="stock.group_stock_user")
        repair = self._create_repair().with_user(user)
        form = self._form(repair)
        form.cgsms_new_message = "Pode levantar amanhã."
        form.cgsms_send_sms = True
        with self.assertRaisesRegex(AccessError, "only SMS users may"):
            form.save()
        self.assertFalse(self._gateway_messages())
        self.assertFalse(repair.cgsms_message_ids)

    def test_repair_user_sends_when_every_internal_user_may(self):
        self.company.cgsms_who_may_send = "internal"
        user = new_test_user(self.env, "repair.clerk", groups="stock.group_stock_user")
        repair = self._create_repair().with_user(user)
        with self._form(repair) as form:
            form.cgsms_new_message = "Pode levantar amanhã."
            form.cgsms_send_sms = True
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertEqual(repair.cgsms_message_ids.sms_state, "sent")

    def test_repair_done_sms_is_sent_whoever_ends_the_repair(self):
        """The SMS when a repair is done is set up by an administrator: sent also when a
        repair user without SMS rights ends the repair."""
        self.company.cgsms_repair_done_sms = True
        user = new_test_user(self.env, "repair.clerk2", groups="stock.group_stock_user")
        repair = self._create_repair().with_user(user)
        repair.action_validate()
        repair.action_repair_start()
        repair.action_repair_end()
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_existing_repair_saved_with_option_sends_one_sms(self):
        repair = self._create_repair()
        with self._form(repair) as form:
            form.cgsms_new_message = "O seu equipamento precisa de um ecrã novo."
            form.cgsms_send_sms = True
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertEqual(repair.cgsms_message_count, 1)

    def test_saving_again_sends_no_second_sms(self):
        repair = self._create_repair()
        with self._form(repair) as form:
            form.cgsms_new_message = "Orçamento: 80 EUR."
            form.cgsms_send_sms = True
        with self._form(repair) as form:
            form.under_warranty = True
        repair.write({"cgsms_send_sms": True})
        self.assertEqual(len(self._gateway_messages()), 1)
        self.assertEqual(repair.cgsms_message_count, 1)

    def test_save_without_option_keeps_message_as_draft_and_sends_nothing(self):
        form = self._form()
        form.cgsms_new_message = "Cliente pediu orçamento."
        repair = form.save()
        self.assertFalse(self._gateway_messages())
        self.assertEqual(repair.cgsms_new_message, "Cliente pediu orçamento.")
        self.assertFalse(self._repair_messages(repair))

    def test_add_message_posts_a_note_without_sms(self):
        repair = self._create_repair(cgsms_new_message="Cliente pediu orçamento.")
        repair.action_cgsms_add_message()
        self.assertFalse(self._gateway_messages())
        self.assertFalse(repair.cgsms_new_message)
        line = self._repair_messages(repair)
        self.assertEqual(len(line), 1)
        self.assertFalse(line.is_sms)
        self.assertFalse(line.sms_state)
        self.assertEqual(line.message_id.message_type, "comment")
        self.assertTrue(line.message_id.subtype_id.internal)
        self.assertIn("Cliente pediu orçamento.", line.message_id.body)

    def test_gsm7_message_of_160_characters_is_sent(self):
        self.assertEqual(len(GSM7_160), 160)
        form = self._form()
        form.cgsms_new_message = GSM7_160
        form.cgsms_send_sms = True
        form.save()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], GSM7_160)

    def test_gsm7_message_of_161_characters_is_refused(self):
        text = GSM7_160 + "x"
        form = self._form()
        form.cgsms_new_message = text
        form.cgsms_send_sms = True
        self._assert_refused(form, ValidationError, text)

    def test_manual_message_with_accents_fits_one_sms_when_letters_are_replaced(self):
        self.assertTrue(self.account.gsm7_safe, "on by default")
        self.assertEqual(len(MANUAL_MESSAGE), 84)
        form = self._form()
        form.cgsms_new_message = MANUAL_MESSAGE
        form.cgsms_send_sms = True
        self.assertFalse(form.cgsms_new_message_too_long)
        self.assertEqual(form.cgsms_new_message_info, "76 characters left in one SMS")
        repair = form.save()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(
            sent[0]["body"],
            "Ola! Informamos que o seu telemovel ja esta reparado. Pode levanta-lo na nossa loja.",
        )
        self.assertEqual(self._repair_messages(repair).sms_state, "sent")

    def test_repair_keeps_the_typed_words_and_the_history_what_left(self):
        form = self._form()
        form.cgsms_new_message = MANUAL_MESSAGE
        form.cgsms_send_sms = True
        repair = form.save()
        as_sent = (
            "Ola! Informamos que o seu telemovel ja esta reparado. Pode levanta-lo na nossa loja."
        )
        self.assertEqual(self._gateway_messages()[0]["body"], as_sent)
        line = self._repair_messages(repair)
        self.assertEqual(line.body, MANUAL_MESSAGE, "the repair's messages keep what was typed")
        self.assertIn("já está reparado", line.message_id.body, "so does the chatter")
        self.assertIn("já está reparado", repair.cgsms_messages_text)
        history = self.env["cgsms.recipient"].search([("mail_message_id", "=", line.message_id.id)])
        self.assertEqual(history.body, as_sent, "the SMS history keeps what left")
        self.assertEqual(line.sms_body, as_sent)

    def test_emoji_still_limits_the_message_to_70_with_letters_replaced(self):
        text = MANUAL_MESSAGE + " \U0001f600"
        form = self._form()
        form.cgsms_new_message = text
        form.cgsms_send_sms = True
        self.assertTrue(form.cgsms_new_message_too_long)
        with self.assertRaisesRegex(ValidationError, "emoji"):
            form.save()
        self.assertFalse(self._gateway_messages())

    def test_ucs2_message_of_70_characters_is_sent(self):
        self.account.gsm7_safe = False
        self.assertEqual(len(UCS2_70), 70)
        form = self._form()
        form.cgsms_new_message = UCS2_70
        form.cgsms_send_sms = True
        form.save()
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], UCS2_70)

    def test_ucs2_message_of_71_characters_is_refused_and_kept(self):
        self.account.gsm7_safe = False
        repair = self._create_repair()
        text = UCS2_70 + "x"
        form = self._form(repair)
        form.cgsms_new_message = text
        form.cgsms_send_sms = True
        self._assert_refused(form, ValidationError, text)
        self.assertFalse(self._repair_messages(repair))

    def test_customer_without_mobile_is_refused(self):
        form = self._form()
        form.partner_id = self.env["res.partner"].create({"name": "Sem Telemóvel"})
        form.cgsms_new_message = "Olá"
        form.cgsms_send_sms = True
        self._assert_refused(form, UserError, "Olá")

    def test_customer_with_a_landline_only_is_refused(self):
        form = self._form()
        form.partner_id = self.env["res.partner"].create(
            {"name": "Loja Fixa", "phone": "212 345 678", "country_id": self.pt.id}
        )
        form.cgsms_new_message = "Olá"
        form.cgsms_send_sms = True
        self._assert_refused(form, UserError, "Olá")

    def test_phone_field_used_when_it_holds_a_mobile(self):
        form = self._form()
        form.partner_id = self.env["res.partner"].create(
            {"name": "João", "phone": "+351 936 000 111", "country_id": self.pt.id}
        )
        form.cgsms_new_message = "Olá João"
        form.cgsms_send_sms = True
        form.save()
        sent = self._gateway_messages()
        self.assertEqual([m["to"] for m in sent], ["+351936000111"])

    def test_no_active_account_is_refused(self):
        self.account.active = False
        form = self._form()
        form.cgsms_new_message = "Olá"
        form.cgsms_send_sms = True
        self._assert_refused(form, UserError, "Olá")

    def test_not_enough_credits_is_refused(self):
        self.env["cgsms.credit.line"].create(
            {
                "account_id": self.account.id,
                "kind": "adjustment",
                "amount": -self.account.credit_available + 1.0,
            }
        )
        form = self._form()
        form.cgsms_new_message = "Olá"
        form.cgsms_send_sms = True
        self._assert_refused(form, UserError, "Olá")

    def test_counter_hint_shows_characters_left(self):
        form = self._form()
        form.cgsms_new_message = "Hello"
        self.assertIn("155", form.cgsms_new_message_info)
        self.assertFalse(form.cgsms_new_message_too_long)
        form.cgsms_new_message = "Olá"
        self.assertIn("157", form.cgsms_new_message_info, "accented letters are replaced")
        form.cgsms_new_message = "Olá \U0001f600"
        self.assertIn("64", form.cgsms_new_message_info)
        form.cgsms_new_message = GSM7_160 + "xx"
        self.assertIn("2", form.cgsms_new_message_info)
        self.assertTrue(form.cgsms_new_message_too_long)

    def test_message_list_shows_delivery_status(self):
        repair = self._create_repair(cgsms_new_message="Pronto", cgsms_send_sms=True)
        line = self._repair_messages(repair)
        recipient = self.env["cgsms.recipient"].search(
            [("mail_message_id", "=", line.message_id.id)]
        )
        self.assertEqual(recipient.state, "sent")
        recipient.sudo().write({"state": "delivered"})
        line.invalidate_recordset(["sms_state"])
        self.assertEqual(line.sms_state, "delivered")


@tagged("post_install", "-at_install")
class TestRepairDoneSms(CgsmsRepairsMixin, TransactionCase):
    DONE_TEXT = "Dear Customer, you can come and collect your equipment, it has been repaired."

    def _end_repair(self, repair):
        repair.action_validate()
        repair.action_repair_start()
        repair.action_repair_end()
        self.assertEqual(repair.state, "done")

    def test_repair_done_sends_template_sms_once(self):
        repair = self._create_repair()
        self._end_repair(repair)
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["body"], self.DONE_TEXT)
        self.assertEqual(sent[0]["to"], "+351912345678")
        self.assertTrue(repair.cgsms_done_notified)
        line = self._repair_messages(repair)
        self.assertEqual(line.body, self.DONE_TEXT)
        self.assertTrue(line.is_sms)
        repair.write({"state": "done"})
        self.assertEqual(len(self._gateway_messages()), 1)

    def test_repair_done_option_off_sends_nothing(self):
        self.env.company.cgsms_repair_done_sms = False
        repair = self._create_repair()
        self._end_repair(repair)
        self.assertFalse(self._gateway_messages())
        self.assertFalse(self._repair_messages(repair))

    def test_repair_done_in_portuguese_for_portuguese_customer(self):
        self.env["res.lang"]._activate_lang("pt_PT")
        self.env["ir.module.module"]._load_module_terms(
            ["cgsms_repairs"], ["pt_PT"], overwrite=True
        )
        self.customer.lang = "pt_PT"
        repair = self._create_repair()
        self._end_repair(repair)
        sent = self._gateway_messages()
        self.assertEqual(len(sent), 1)
        self.assertEqual(
            sent[0]["body"],
            "Estimado Cliente, pode vir levantar o seu equipamento, o mesmo encontra-se reparado.",
        )

    def test_repair_done_customer_without_mobile_ends_with_a_note(self):
        repair = self._create_repair(partner_id=self.env["res.partner"].create({"name": "X"}).id)
        self._end_repair(repair)
        self.assertFalse(self._gateway_messages())
        self.assertIn(
            "not told by SMS", repair.message_ids[0].body, "the reason is noted on the repair"
        )

    def test_repair_done_text_over_the_segment_cap_not_sent(self):
        template = self.env["sms.template"].create(
            {
                "name": "Long",
                "model_id": self.env.ref("repair.model_repair_order").id,
                "body": "{{ object.partner_id.name }}",
            }
        )
        self.env.company.cgsms_repair_done_template_id = template
        self.customer.name = "Cliente " + "x" * 2000
        repair = self._create_repair()
        self._end_repair(repair)
        self.assertFalse(self._gateway_messages())
        self.assertIn("too long", repair.message_ids[0].body, "the reason is noted on the repair")

    def test_nul_byte_in_new_message_refused(self):
        repair = self._create_repair()
        with self.assertRaises(UserError) as caught:
            repair.write({"cgsms_new_message": "Pronto\x00", "cgsms_send_sms": True})
        self.assertIn("invisible", str(caught.exception.args[0]))
        self.assertFalse(self._gateway_messages())

    def test_settings_show_repair_done_option_with_default_template(self):
        settings = Form(self.env["res.config.settings"])
        self.assertTrue(settings.cgsms_repair_done_sms)
        self.assertEqual(
            settings.cgsms_repair_done_template_id,
            self.env.ref("cgsms_repairs.sms_template_repair_done"),
        )
