/** @odoo-module */

import { registry } from "@web/core/registry";

// Kept in sync with tests/test_express_tour.py.
const TEXT =
    "Estimado cliente, a sua reparação está concluída. Pode levantar o equipamento " +
    "na loja a partir de amanhã.";

registry.category("web_tour.tours").add("cgsms_express_tour", {
    url: "/odoo/action-cgsms.cgsms_message_action",
    steps: () => [
        {
            // Opening an action closes the dialogs: wait until the first one is shown.
            content: "The list of SMS sends is shown",
            trigger: ".o_action_manager .o_list_view",
        },
        {
            content: "Open the express message from the systray",
            trigger:
                ".o_cgsms_express_systray button[title='Express message'][data-tooltip]:has(.fa-mobile):has(.o_cgsms_express_badge)",
            run: "click",
        },
        {
            content: "The dialog shows the credits once loaded",
            trigger: ".o_cgsms_express_dialog .o_cgsms_counter_cost:contains('Available credits')",
        },
        {
            content: "Type a mobile number",
            trigger: ".o_cgsms_express_dialog input.o_cgsms_express_numbers",
            run: "edit 912 345 678",
        },
        {
            content: "Type a short message",
            trigger: ".o_cgsms_express_dialog textarea.o_cgsms_express_body",
            run: "edit Hello",
        },
        {
            content: "The counter follows the text",
            trigger: ".o_cgsms_counter_summary:contains('Characters: 5 · Messages: 1')",
        },
        {
            trigger: ".o_cgsms_counter_encoding:contains('GSM-7')",
        },
        {
            content: "Type a longer message with accents",
            trigger: ".o_cgsms_express_dialog textarea.o_cgsms_express_body",
            run: `edit ${TEXT}`,
        },
        {
            content: "The account replaces accented letters: counted as it leaves, one message",
            trigger: ".o_cgsms_counter_summary:contains('Characters: 105 · Messages: 1')",
        },
        {
            trigger: ".o_cgsms_counter_encoding:contains('GSM-7')",
        },
        {
            trigger: ".o_cgsms_counter_replaced:contains('Accents are replaced when sent')",
        },
        {
            content: "The cost follows: 1 message to 1 number",
            trigger: ".o_cgsms_counter_cost:contains('Cost: 1.44 credits')",
        },
        {
            content: "Nothing to convert by hand",
            trigger: ".o_cgsms_express_dialog:not(:has(.o_cgsms_gsm7_safe))",
        },
        {
            content: "Add a symbol that has no GSM-7 equivalent (a check mark)",
            trigger: ".o_cgsms_express_dialog textarea.o_cgsms_express_body",
            run: `edit ${TEXT} \u2713`,
        },
        {
            content: "No plain equivalent: Unicode, two messages, and a hint says why",
            trigger: ".o_cgsms_counter_summary:contains('Characters: 107 · Messages: 2')",
        },
        {
            trigger: ".o_cgsms_counter_encoding:contains('Unicode')",
        },
        {
            trigger: ".o_cgsms_counter_unicode_hint:contains('Emoji')",
        },
        {
            content: "Back to the text without the emoji",
            trigger: ".o_cgsms_express_dialog textarea.o_cgsms_express_body",
            run: `edit ${TEXT}`,
        },
        {
            trigger: ".o_cgsms_counter_summary:contains('Characters: 105 · Messages: 1')",
        },
        {
            content: "Send",
            trigger: ".o_cgsms_express_dialog button.o_cgsms_express_send:enabled",
            run: "click",
        },
        {
            content: "The SMS left",
            trigger: ".o_notification:contains('SMS sent to 1 number.')",
        },
        {
            trigger: "body:not(:has(.o_cgsms_express_dialog))",
        },
    ],
});
