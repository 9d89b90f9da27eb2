{
    "name": "CgSMS",
    "summary": "Send SMS from Odoo through your own SMS provider account, with visible credits",
    "version": "18.0.1.0.0",
    "category": "Marketing/SMS",
    "license": "LGPL-3",
    "author": "CgSMS",
    "website": "https://github.com/cgsms/cgsms-odoo",
    "depends": ["sms", "account", "phone_validation"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/cgsms_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "data/mail_activity_type_data.xml",
        "views/cgsms_account_views.xml",
        "views/cgsms_credit_line_views.xml",
        "views/cgsms_recipient_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
    ],
    "demo": [
        "demo/cgsms_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "cgsms/static/src/**/*",
        ],
    },
    "application": True,
    "installable": True,
}
