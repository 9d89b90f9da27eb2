from . import test_apps_automations
from . import test_apps_rpc
