{
    "name": "CgSMS SMS Marketing",
    "summary": "SMS Marketing mailings through CgSMS: who may send them, their cost and credits",
    "version": "1.0.0",
    "category": "Marketing/SMS",
    "license": "LGPL-3",
    "author": "CgSMS",
    "website": "https://github.com/cgsms/cgsms-odoo",
    "depends": ["cgsms", "mass_mailing_sms"],
    "data": [
        "views/mailing_mailing_views.xml",
    ],
    "installable": True,
    "auto_install": True,
}
