from . import test_mailing
from . import test_translations
