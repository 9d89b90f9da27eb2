from . import cgsms_reply
from . import mailing_mailing
