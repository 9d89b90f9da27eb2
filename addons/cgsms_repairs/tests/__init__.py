from . import test_repair_history
from . import test_repair_sms
from . import test_repair_tour
from . import test_screenshots
from . import test_translations
from . import test_repair_demo
from . import test_demo_pt_tour
from . import test_repair_replies_tour
