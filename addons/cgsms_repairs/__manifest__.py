{
    "name": "CgSMS Repairs",
    "summary": "Text repair customers from the repair order: messages, history, repair done",
    "version": "1.0.1",
    "category": "Inventory/Inventory",
    "license": "LGPL-3",
    "author": "CgSMS",
    "website": "https://github.com/cgsms/cgsms-odoo",
    "depends": ["cgsms", "repair"],
    "data": [
        "security/ir.model.access.csv",
        "security/cgsms_repairs_security.xml",
        "data/mail_message_subtype_data.xml",
        "data/sms_template_data.xml",
        "views/repair_order_views.xml",
        "views/res_config_settings_views.xml",
    ],
    "demo": [
        "demo/repair_order_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "cgsms_repairs/static/tests/tours/**/*",
        ],
    },
    "installable": True,
    "auto_install": False,
}
