from . import gate
from . import main
from . import inbound
