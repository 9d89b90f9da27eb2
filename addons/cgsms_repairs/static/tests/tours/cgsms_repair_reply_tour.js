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
