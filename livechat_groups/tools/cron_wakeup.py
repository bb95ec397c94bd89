"""Wake the scheduler's workers as ``ir.cron._notifydb`` does, on a connection kept open.

Stock's wake-up opens a new connection to the ``postgres`` database each time (Odoo's pool
keeps no connection to it), which costs a server process per call: the webhook wakes the
processing at every delivery it keeps, up to 80 times a second. The same notification is
sent here on one connection per process, kept for the next call; the scheduler listens to it
as to stock's (``LISTEN cron_trigger`` on ``postgres``).
"""

import contextlib
import logging
import os
import threading

import psycopg2

from odoo.sql_db import connection_info_for
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

_logger = logging.getLogger(__name__)

_lock = threading.Lock()
# (pid, connection): a forked worker never uses its parent's connection
_kept = [None, None]


def _connection():
    pid, cnx = _kept
    if cnx is None or cnx.closed or pid != os.getpid():
        _name, info = connection_info_for("postgres")
        cnx = psycopg2.connect(**info)
        cnx.autocommit = True
        _kept[:] = [os.getpid(), cnx]
    return cnx


def notify_cron_trigger(dbname):
    """``NOTIFY cron_trigger, dbname`` (after the commit that made the job ready): the
    scheduler's workers of ``dbname`` look for ready jobs. A broken kept connection is opened
    again once; a failure after that is logged (the scheduler polls every minute anyway)."""
    query = SQL("SELECT %s('cron_trigger', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), dbname)
    with _lock:
        for attempt in (1, 2):
            try:
                with _connection().cursor() as cr:
                    cr.execute(query.code, query.params)
                return True
            except psycopg2.Error:
                _close()
                if attempt == 2:
                    _logger.warning("cron workers of %s not notified", dbname, exc_info=True)
    return False


def _close():
    cnx = _kept[1]
    _kept[:] = [None, None]
    if cnx is not None and not cnx.closed:
        with contextlib.suppress(psycopg2.Error):
            cnx.close()
