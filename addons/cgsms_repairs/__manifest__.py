{
    "name": "CgSMS Repairs",
    "summary": "Text repair customers from the repair order: messages, history, repair done",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "license": "LGPL-3",
    "author": "CgSMS",
    "website": "https://github.com/cgsms/cgsms-odoo",
    "depends": ["cgsms", "repair"],
    "data": [
        "security/ir.model.access.csv",
        "data/sms_template_data.xml",
        "views/repair_order_views.xml",
        "views/res_config_settings_views.xml",
    ],
    "installable": True,
    "auto_install": False,
}
