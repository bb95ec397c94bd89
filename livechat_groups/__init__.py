from . import controllers, models, report, wizard
from .hooks import uninstall_hook
