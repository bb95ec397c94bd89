from . import cron_wakeup
