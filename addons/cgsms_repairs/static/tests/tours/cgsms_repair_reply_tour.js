import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("cgsms_repair_reply_tour", {
    steps: () => [
        {
            content: "The customer's answer is on the repair's chatter",
            trigger: ".o-mail-Message:contains('Obrigado, vou buscar amanhã')",
        },
        {
            content: "posted by the customer",
            trigger: ".o-mail-Message:contains('Obrigado, vou buscar amanhã'):contains('Maria Costa')",
        },
    ],
});

registry.category("web_tour.tours").add("cgsms_replies_list_tour", {
    steps: () => [
        {
            content: "The replies list shows the opt-out",
            trigger: ".o_list_view .o_data_row:contains('STOP')",
        },
        {
            content: "Open it",
            trigger: ".o_data_row:contains('STOP') td[name='body']",
            run: "click",
        },
        {
            content: "The reply can be answered",
            trigger: ".o_form_view button[name='action_answer']",
        },
    ],
});

registry.category("web_tour.tours").add("cgsms_campaign_skips_opt_out_tour", {
    steps: () => [
        {
            content: "Before sending, the campaign lists the customer who answered STOP",
            trigger: "div[name='skipped'] tr:contains('Maria Costa'):contains('asked not to receive SMS')",
        },
        {
            content: "and sends to the others",
            trigger: ".o_form_view button[name='action_send']",
            run: "click",
        },
        {
            content: "Sent",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Sent')",
        },
        {
            content: "The customer's line is not sent, for the opt-out",
            trigger: ".o_field_widget[name='recipient_ids'] .o_data_row:contains('Maria Costa'):contains('asked not to receive SMS')",
        },
    ],
});
