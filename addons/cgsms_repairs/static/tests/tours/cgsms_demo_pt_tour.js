import { registry } from "@web/core/registry";

// The demo as a Portuguese user meets it (issue 22), from a demo repair of a Portuguese
// customer to the SMS app. Kept in sync with tests/test_demo_pt_tour.py.
const menu = (xmlid) =>
    `.o_menu_sections button[data-menu-xmlid='${xmlid}'], .o_menu_sections a[data-menu-xmlid='${xmlid}']`;

registry.category("web_tour.tours").add("cgsms_demo_pt_tour", {
    steps: () => [
        {
            content: "The repair's Messages tab, in Portuguese",
            trigger: ".o_notebook_headers a[name='cgsms_messages']:contains('Mensagens')",
            run: "click",
        },
        {
            content: "Type a message with accents",
            trigger: "div[name='cgsms_new_message'] textarea",
            run: "edit Já foi diagnosticado. Orçamento enviado por email.",
        },
        {
            trigger: "div[name='cgsms_send_sms'] input",
            run: "check",
        },
        {
            content: "Save the repair: the SMS leaves",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The repair's messages keep what was typed",
            trigger:
                "div[name='cgsms_message_ids'] .o_data_row:contains('Já foi diagnosticado. Orçamento')",
        },
        {
            content: "The Express SMS button: a phone marked SMS, with its tooltip in Portuguese",
            trigger:
                ".o_cgsms_express_systray button[data-tooltip='Mensagem Express: envie um SMS a partir de qualquer ecrã'] .o_cgsms_express_badge:contains('SMS')",
        },
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button:enabled",
            run: "click",
        },
        {
            content: "Open the SMS app",
            trigger: ".o_app[data-menu-xmlid='cgsms.cgsms_menu_root']",
            run: "click",
        },
        {
            content: "SMS > Modelos",
            trigger: menu("cgsms.sms_template_menu_cgsms"),
            run: "click",
        },
        {
            content: "The invoice reminder template is there, in Portuguese",
            trigger: ".o_list_view .o_data_row:contains('Fatura: lembrete de pagamento em atraso')",
        },
        {
            content: "So is the repair template",
            trigger: ".o_list_view .o_data_row:contains('Reparação: equipamento pronto para levantar')",
        },
        {
            content: "SMS > SMS",
            trigger: menu("cgsms.cgsms_message_menu"),
            run: "click",
        },
        {
            content: "New SMS",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "The same number typed twice, and another one",
            trigger: ".o_field_widget[name='free_numbers'] textarea",
            run: "edit 912345678; +351 912 345 678; 961000001",
        },
        {
            trigger: ".o_field_widget[name='name'] input",
            run: "click",
        },
        {
            content: "2 recipients and 1 skipped number, in Portuguese",
            trigger:
                ".o_cgsms_figures .badge:has(.o_field_widget[name='dropped_count']:contains('1')):contains('número ignorado')",
        },
        {
            content: "The skipped number as it was typed",
            trigger: ".o_cgsms_skipped td:contains('+351 912 345 678')",
        },
        {
            content: "Discard the SMS",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        {
            trigger: ".o_list_view",
        },
        {
            content: "SMS > Créditos",
            trigger: menu("cgsms.cgsms_menu_credits"),
            run: "click",
        },
        {
            content: "Credits with 2 decimals and the decimal comma",
            trigger: ".o_list_view .o_data_row td[name='amount']:contains('1000,00')",
        },
    ],
});
