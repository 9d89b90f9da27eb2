from . import handoff
from . import transaction
