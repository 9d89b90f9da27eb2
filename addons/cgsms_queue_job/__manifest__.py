{
    "name": "CgSMS Job Queue",
    "summary": "Send big SMS queues in parallel on several Odoo workers and servers with queue_job",
    "version": "1.0.0",
    "category": "Marketing/SMS",
    "license": "LGPL-3",
    "author": "CgSMS",
    "website": "https://github.com/cgsms/cgsms-odoo",
    "depends": ["cgsms", "queue_job"],
    "data": [
        "data/queue_job_data.xml",
        "views/cgsms_message_views.xml",
    ],
    "post_init_hook": "post_init_hook",
    "installable": True,
    "auto_install": True,
}
