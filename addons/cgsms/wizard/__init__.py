from . import cgsms_express_wizard
from . import cgsms_reminder_wizard
