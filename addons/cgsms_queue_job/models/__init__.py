from . import sms_sms
from . import cgsms_message
