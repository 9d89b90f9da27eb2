import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("cgsms_repair_tour", {
    steps: () => [
        {
            content: "Open the Messages tab of the repair",
            trigger: ".o_notebook_headers a[name='cgsms_messages']",
            run: "click",
        },
        {
            content: "Type a message for the customer",
            trigger: "div[name='cgsms_new_message'] textarea",
            run: "edit O seu portátil está pronto.",
        },
        {
            content: "The counter follows the typing",
            trigger: "div[name='cgsms_new_message'] .o_cgsms_counter_summary:contains('Characters: 27')",
        },
        {
            content: "Tick Send SMS",
            trigger: "div[name='cgsms_send_sms'] input",
            run: "check",
        },
        {
            content: "Accents are replaced when sent: the counter says so",
            trigger: "div[name='cgsms_new_message'] .o_cgsms_counter_replaced",
        },
        {
            content: "The hint counts the text as it leaves: 160 - 27 characters left in one SMS",
            trigger: "div[name='cgsms_new_message_info']:contains('133 characters left')",
        },
        {
            content: "Save the repair",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The message is listed as sent by SMS",
            trigger:
                "div[name='cgsms_message_ids'] .o_data_row:contains('O seu portátil está pronto.'):contains('Sent')",
        },
        {
            content: "The new message field is empty again",
            trigger: "div[name='cgsms_new_message_info']:contains('One SMS: 160 characters')",
        },
        {
            content: "and Send SMS is unticked",
            trigger: "div[name='cgsms_send_sms'] input:not(:checked)",
        },
    ],
});
