/** @odoo-module */

import { registry } from "@web/core/registry";

// What each report shows in each language; kept in sync with tests/test_reporting_tour.py.
const TEXTS = {
    en_US: {
        reporting: "Reporting",
        analysis: "SMS analysis",
        rate: "Delivery rate (%)",
        credits: "Credits over time",
        balance: "Credit balance",
        replies: "Replies and opt-outs",
        forecast: "≈ 270 days left at the last 30 days' rate",
    },
    pt_PT: {
        reporting: "Relatórios",
        analysis: "Análise de SMS",
        rate: "Taxa de entrega (%)",
        credits: "Créditos ao longo do tempo",
        balance: "Saldo de créditos",
        replies: "Respostas e exclusões",
        forecast: "≈ 270 dias restantes ao ritmo dos últimos 30 dias",
    },
};

function openReport(text, menu, check) {
    return [
        {
            content: `Open the reporting menu (${text.reporting})`,
            trigger: `.dropdown-toggle[data-menu-xmlid='cgsms.cgsms_menu_reporting']:contains('${text.reporting}')`,
            run: "click",
        },
        {
            content: `Open ${menu}`,
            trigger: `.dropdown-item[data-menu-xmlid='cgsms.${menu}']:contains('${check}')`,
            run: "click",
        },
        {
            content: `${check} is the title`,
            trigger: `.o_breadcrumb:contains('${check}')`,
        },
    ];
}

for (const [lang, text] of Object.entries(TEXTS)) {
    registry.category("web_tour.tours").add(`cgsms_reporting_tour_${lang}`, {
        url: "/odoo/action-cgsms.cgsms_report_sms_action",
        steps: () => [
            {
                content: "The SMS analysis opens as a graph, with figures (no sample data)",
                trigger: `.o_breadcrumb:contains('${text.analysis}')`,
            },
            {
                trigger: ".o_graph_view .o_graph_renderer canvas",
            },
            {
                trigger: ".o_graph_view:not(:has(.o_view_sample_data))",
            },
            {
                content: "Switch to the pivot",
                trigger: ".o_switch_view.o_pivot",
                run: "click",
            },
            {
                content: "The pivot shows the delivery rate of each account",
                trigger: `.o_pivot th.o_pivot_measure_row:contains('${text.rate}')`,
            },
            {
                trigger: ".o_pivot .o_pivot_header_cell_closed, .o_pivot .o_pivot_header_cell_opened",
            },
            ...openReport(text, "cgsms_credit_report_menu", text.credits),
            {
                trigger: ".o_graph_view .o_graph_renderer canvas",
            },
            ...openReport(text, "cgsms_credit_balance_menu", text.balance),
            {
                trigger: ".o_graph_view .o_graph_renderer canvas",
            },
            ...openReport(text, "cgsms_reply_report_menu", text.replies),
            {
                trigger: ".o_graph_view .o_graph_renderer canvas",
            },
            {
                content: "Switch to the pivot of the replies",
                trigger: ".o_switch_view.o_pivot",
                run: "click",
            },
            {
                trigger: ".o_pivot th.o_pivot_measure_row",
            },
            {
                content: "The provider account tells how long the credits last",
                trigger: ".dropdown-toggle[data-menu-xmlid='cgsms.cgsms_menu_configuration']",
                run: "click",
            },
            {
                trigger: ".dropdown-item[data-menu-xmlid='cgsms.cgsms_menu_accounts']",
                run: "click",
            },
            {
                trigger: ".o_data_row:contains('Reporting tour') .o_data_cell[name='name']",
                run: "click",
            },
            {
                trigger: `.o_field_widget[name='credit_forecast']:contains("${text.forecast}")`,
            },
        ],
    });
}
