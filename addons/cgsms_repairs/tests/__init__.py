from . import test_repair_history
from . import test_repair_sms
from . import test_repair_tour
from . import test_screenshots
