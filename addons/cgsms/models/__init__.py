from . import cgsms_account
from . import cgsms_credit_line
from . import cgsms_recipient
from . import res_company
from . import res_config_settings
from . import sms_sms
