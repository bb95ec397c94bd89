from . import cron_wakeup, until_commit
