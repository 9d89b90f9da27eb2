"""1.1.0: an account upgraded without destinations gets its company's country plus the
countries it really sent to (the sending policy's safe default), and the SMS managers are
told on the account."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["cgsms.account"]._cgsms_upgrade_destinations()
