"""What differs between the Odoo series CgSMS runs on, 18.0 and 19.0, in one place.

The addons are one tree for both series: code that depends on the series asks this module
instead of testing the version itself. Data files that the two series spell differently
live in ``data/cgsms_series_<major>.xml`` (see ``models/cgsms_series.py``).
"""

import threading

from odoo import models
from odoo.modules import module as odoo_module
from odoo.release import version_info

SERIES = version_info[0]
ODOO_19 = SERIES >= 19

if ODOO_19:
    from odoo.fields import Domain
else:
    from odoo.osv import expression

# res.partner: 18.0 has a mobile and a phone field, 19.0 only the phone.
PARTNER_MOBILE_FIELD = "phone" if ODOO_19 else "mobile"
PARTNER_NUMBER_FIELDS = ("phone",) if ODOO_19 else ("mobile", "phone")
# The computed "number is blacklisted" fields of res.partner (phone_validation), one per number.
PARTNER_BLACKLISTED_FIELDS = (
    ("phone_blacklisted",) if ODOO_19 else ("phone_blacklisted", "mobile_blacklisted")
)

# Who may see a record: res.users, ir.ui.menu, ir.actions.* and ir.ui.view call it
# group_ids on 19.0, groups_id on 18.0.
GROUPS_FIELD = "group_ids" if ODOO_19 else "groups_id"
# The users put in a group (res.groups): user_ids on 19.0, users on 18.0.
GROUP_USERS_FIELD = "user_ids" if ODOO_19 else "users"

# Odoo 19.0 routes its SMS through an SmsApiBase chosen per company (sms.sms._split_by_api,
# res.company._get_sms_api_class); 18.0 has a single sms.sms._send.
SMS_API_PLUGIN = ODOO_19


def sms_send_kwargs(auto_commit):
    """Keyword arguments of Odoo's sms.sms.send() for ``auto_commit``: 19.0 dropped it."""
    return {} if ODOO_19 else {"auto_commit": auto_commit}


def sql_constraints(*constraints):
    """Class attributes declaring ``(name, definition, message)`` table constraints, for
    ``locals().update(...)`` in a model's class body: ``_sql_constraints`` on 18.0,
    ``models.Constraint`` attributes on 19.0 (which ignores ``_sql_constraints``). Both give
    the database constraint the same name, ``<table>_<name>``."""
    if not ODOO_19:
        return {"_sql_constraints": list(constraints)}
    return {
        f"_{name}": models.Constraint(definition, message)
        for name, definition, message in constraints
    }


# account (19.0): an invoice marked "No Follow-Up" (its receivable lines) gets no reminder.
ACCOUNT_NO_FOLLOWUP = ODOO_19
NO_FOLLOWUP_DEPENDS = ("line_ids.no_followup",) if ODOO_19 else ()
_NO_FOLLOWUP_LINE = [("account_type", "=", "asset_receivable"), ("no_followup", "=", True)]
NO_FOLLOWUP_DOMAIN = [("line_ids", "not any", _NO_FOLLOWUP_LINE)] if ODOO_19 else []


def domain_and(domains):
    """The conjunction of ``domains`` (odoo.osv.expression is deprecated on 19.0)."""
    return Domain.AND(domains) if ODOO_19 else expression.AND(domains)


def domain_not(domain):
    """The negation of ``domain``."""
    return ~Domain(domain) if ODOO_19 else ["!", *expression.normalize_domain(domain)]


def testing():
    """Whether Odoo runs tests (no commit then): 18.0 marks the test thread, 19.0 only sets
    ``odoo.modules.module.current_test`` (which 18.0 sets too)."""
    return bool(odoo_module.current_test) or getattr(threading.current_thread(), "testing", False)
