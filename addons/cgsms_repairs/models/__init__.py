from . import cgsms_repair_message
from . import res_company
from . import res_config_settings
from . import repair_order
