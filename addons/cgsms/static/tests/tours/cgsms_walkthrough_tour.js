/** @odoo-module */

import { registry } from "@web/core/registry";
import { session } from "@web/session";

// 19.0 wants a step that reloads the page to say so; 18.0 refuses the key.
const unloadsPage = session.server_version_info[0] >= 19 ? { expectUnloadPage: true } : {};

// Not stepUtils.showAppsMenuItem(), whose module moved in 19.0: the same steps on both series.
const openSmsApp = () => [
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
];
const openNewSms = () => [
    ...openSmsApp(),
    {
        content: "New SMS",
        trigger: ".o_list_button_add",
        run: "click",
    },
];

// Kept in sync with tests/test_walkthrough_tour.py.
registry.category("web_tour.tours").add("cgsms_record_pack_tour", {
    url: "/odoo",
    steps: () => [
        ...openSmsApp(),
        {
            content: "Open the credits",
            trigger: ".o_menu_sections button[data-menu-xmlid='cgsms.cgsms_menu_credits'], .o_menu_sections a[data-menu-xmlid='cgsms.cgsms_menu_credits']",
            run: "click",
        },
        {
            content: "The credits screen has a button to record a pack",
            trigger: ".o_list_view .o_control_panel button[name='action_record_pack']",
            run: "click",
        },
        {
            content: "Credits of the pack",
            trigger: ".modal .o_field_widget[name='amount'] input",
            run: "edit 1440",
        },
        {
            trigger: ".modal .o_field_widget[name='reference'] input",
            run: "edit Tour pack 1000 SMS",
        },
        {
            content: "Save the pack",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The pack is in the credits list",
            trigger: ".o_list_view .o_data_row:contains('Tour pack 1000 SMS')",
        },
    ],
});

registry.category("web_tour.tours").add("cgsms_new_form_reload_tour", {
    url: "/odoo",
    steps: () => [
        ...openNewSms(),
        {
            content: "Reload the untouched new form (F5)",
            trigger: ".o_form_view .o_field_widget[name='body'] textarea",
            ...unloadsPage,
            async run() {
                // F5 once the address is the new form's (the router writes it a moment after
                // the form shows; reloading before would reload the list)
                for (let i = 0; i < 100 && !window.location.pathname.endsWith("/new"); i++) {
                    await new Promise((resolve) => setTimeout(resolve, 50));
                }
                window.location.reload();
            },
        },
        {
            content: "After the reload the form is a new SMS again",
            trigger: ".o_form_view .o_field_widget[name='body'] textarea",
        },
        {
            trigger: ".o_form_view .o_breadcrumb:contains('New')",
        },
    ],
});

registry.category("web_tour.tours").add("cgsms_template_form_tour", {
    url: "/odoo",
    steps: () => [
        ...openSmsApp(),
        {
            content: "Open the templates",
            trigger: ".o_menu_sections [data-menu-xmlid='cgsms.sms_template_menu_cgsms']",
            run: "click",
        },
        {
            content: "New template (once the templates list is shown)",
            trigger: ".o_control_panel:has(.o_breadcrumb:contains('Templates')) .o_list_button_add",
            run: "click",
        },
        {
            content: "Title",
            trigger: ".o_form_view .o_field_widget[name='name'] input",
            run: "edit Reparação pronta",
        },
        {
            content: "Message with a placeholder",
            trigger: ".o_form_view .o_field_widget[name='body'] textarea",
            run: "edit Olá {{ object.name }}, a sua reparação está pronta.",
        },
        {
            content: "The placeholder is counted as a long name, and the form says so",
            trigger: ".o_cgsms_counter_summary:contains('Characters: 54')",
        },
        {
            trigger: ".o_cgsms_counter_placeholders:contains('20')",
        },
        {
            content:
                "Counted as it leaves, as on the send form: the account replaces the accents, so GSM-7",
            trigger:
                ".o_cgsms_sms_counter:has(.o_cgsms_counter_encoding:contains('GSM-7')):has(.o_cgsms_counter_replaced)",
        },
        {
            content: "Only a title and a message: no technical field",
            trigger: ".o_form_view:not(:has(.o_field_widget[name='model_id'])):not(:has(.o_field_widget[name='lang']))",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            // once saved: a tour that ends on a form still being saved fails on 19.0
            content: "Saved, and what a typed number receives",
            trigger: ".o_form_saved .o_field_widget[name='cgsms_body_without_contact']:contains('Olá, a sua reparação está pronta.')",
        },
    ],
});

// Run by a Portuguese-speaking user: one number reads in the singular.
registry.category("web_tour.tours").add("cgsms_singular_tour", {
    url: "/odoo",
    steps: () => [
        ...openNewSms(),
        {
            content: "One number typed twice",
            trigger: ".o_field_widget[name='free_numbers'] textarea",
            run: "edit 912 000 777; 912 000 777",
        },
        {
            content: "Leave the field (the numbers are read when it loses the focus)",
            trigger: ".o_field_widget[name='name'] input",
            run: "click",
        },
        {
            content: "One recipient, in the singular",
            trigger: ".o_cgsms_figures .badge:has(.o_field_widget[name='recipient_count']:contains('1')):contains('destinatário'):not(:contains('destinatários'))",
        },
        {
            content: "One number skipped, in the singular",
            trigger: ".o_cgsms_figures .badge:has(.o_field_widget[name='dropped_count']:contains('1')):contains('número ignorado'):not(:contains('ignorados'))",
        },
        {
            trigger: ".o_field_widget[name='free_numbers'] textarea",
            run: "edit 912 000 777; 912 000 888; 912 000 777; 912 000 888",
        },
        {
            trigger: ".o_field_widget[name='name'] input",
            run: "click",
        },
        {
            content: "Two of each, in the plural",
            trigger: ".o_cgsms_figures .badge:has(.o_field_widget[name='recipient_count']:contains('2')):contains('destinatários')",
        },
        {
            trigger: ".o_cgsms_figures .badge:has(.o_field_widget[name='dropped_count']:contains('2')):contains('números ignorados')",
        },
        {
            content: "Leave without saving",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        {
            trigger: ".o_list_view",
        },
    ],
});
