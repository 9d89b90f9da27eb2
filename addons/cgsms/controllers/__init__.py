from . import gate
from . import main
