from . import test_apps_automations
from . import test_apps_rpc
from . import test_apps_sales
from . import test_apps_website_event
