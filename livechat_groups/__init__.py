from . import controllers, models, report, tools, wizard
from .hooks import uninstall_hook
