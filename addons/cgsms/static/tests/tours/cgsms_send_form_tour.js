/** @odoo-module */

import { registry } from "@web/core/registry";

// Kept in sync with tests/test_send_form_tour.py.
registry.category("web_tour.tours").add("cgsms_send_form_tour", {
    url: "/odoo",
    steps: () => [
        {
            // stepUtils.showAppsMenuItem(), whose module moved in 19.0
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
            content: "The SMS list opens first: create a new SMS",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Subject",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Tour promotion",
        },
        {
            content: "Pick the customer group",
            trigger: ".o_field_widget[name='group_ids'] input",
            run: "edit Tour group",
        },
        {
            trigger: ".o-autocomplete--dropdown-item a:contains('Tour group')",
            run: "click",
        },
        {
            content: "The group's two members are counted",
            trigger: ".o_cgsms_figures .o_field_widget[name='recipient_count']:contains('2')",
        },
        {
            content: "Pick a customer who is also in the group",
            trigger: ".o_field_widget[name='partner_ids'] input",
            run: "edit Tour Customer",
        },
        {
            trigger: ".o-autocomplete--dropdown-item a:contains('Tour Customer')",
            run: "click",
        },
        {
            content: "Reached twice, counted once",
            trigger: ".o_field_widget[name='partner_ids'] .o_tag:contains('Tour Customer')",
        },
        {
            trigger: ".o_cgsms_figures .o_field_widget[name='recipient_count']:contains('2')",
        },
        {
            content: "Type a free number",
            trigger: ".o_field_widget[name='free_numbers'] textarea",
            run: "edit 912 000 777",
        },
        {
            content: "Type the message",
            trigger: ".o_field_widget[name='body'] textarea",
            run: "edit Hi",
        },
        {
            content: "The counter follows the text",
            trigger: ".o_cgsms_counter_summary:contains('Characters: 2 · Messages: 1')",
        },
        {
            trigger: ".o_field_widget[name='body'] textarea",
            run: "edit Hello from the tour",
        },
        {
            content: "The counter changed while typing",
            trigger: ".o_cgsms_counter_summary:contains('Characters: 19 · Messages: 1')",
        },
        {
            content: "Three numbers, one of them reached twice: three recipients",
            trigger: ".o_cgsms_figures .o_field_widget[name='recipient_count']:contains('3')",
        },
        {
            content: "Price per SMS and credits",
            trigger: ".o_cgsms_counter_cost:contains('1 SMS = 1.44 credits')",
        },
        {
            trigger: ".o_cgsms_counter_cost:contains('Available credits')",
        },
        {
            content: "Send",
            trigger: ".o_form_view button[name='action_send']",
            run: "click",
        },
        {
            content: "Sent: the status bar says so",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Sent')",
        },
        {
            content: "One line per number",
            trigger: ".o_field_widget[name='recipient_ids'] .o_data_row:contains('+351912000777')",
        },
        {
            trigger: ".o_field_widget[name='recipient_ids'] .o_data_row:contains('Tour Customer')",
        },
    ],
});
