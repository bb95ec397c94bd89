"""A multi-worker Odoo for the benchmarks, and what its log tells about concurrency conflicts.

Imported by the benchmarks (``start_server``, ``wait_until_up``, ``sql``, ``odoo``,
``conflicts_in``). Run as a script, it is odoo-bin with one addition: each statement that fails
on a concurrency conflict (serialization failure, deadlock, lock not available) is logged by
``bench.conflict`` with its SQL and the Python frames of the addons that issued it, so that a
benchmark can say which rows collide and which code path writes them::

    python bench/_server.py --addons-path=... -d DB --workers=4 ...

(the prefork workers are forked from this process, so they inherit the tracing; the gevent
worker is started through the same script).
"""

import logging
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter

import requests

ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS_PATH = os.environ.get("ADDONS_PATH", f"{ODOO_SRC}/addons,{ODOO_SRC}/odoo/addons,{ROOT}")
# serialization_failure, deadlock_detected, lock_not_available: what Odoo retries
CONFLICT_CODES = ("40001", "40P01", "55P03")
CONFLICT_TAG = "bench.conflict"
MAX_TRIES = 5  # odoo.service.model.MAX_TRIES_ON_CONCURRENCY_FAILURE


def odoo(db, *args, command=(), **kwargs):
    """Run odoo-bin (``command`` e.g. ``["shell"]``) on ``db`` to completion."""
    return subprocess.run(
        [sys.executable, f"{ODOO_SRC}/odoo-bin", *command, f"--addons-path={ADDONS_PATH}", "-d", db, *args],
        check=True,
        **kwargs,
    )


def sql(db, query):
    out = subprocess.run(["psql", "-d", db, "-tAc", query], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def start_server(db, port, workers, log, extra=()):
    """Odoo on loopback, ``workers`` HTTP workers on ``port`` (gevent on ``port + 3``), its
    conflicts traced (see the module's docstring), logging into the file object ``log``."""
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), f"--addons-path={ADDONS_PATH}", "-d", db,
         f"--db-filter=^{db}$", f"--http-port={port}", f"--gevent-port={port + 3}",
         "--http-interface=127.0.0.1", f"--workers={workers}", "--max-cron-threads=0",
         "--limit-time-real=300", "--log-level=info", *extra],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_until_up(base, log_name):
    for _ in range(120):
        try:
            if requests.get(f"{base}/web/login", timeout=5).ok:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up, or slow on a busy machine
            pass
        time.sleep(1)
    raise SystemExit(f"Odoo did not start: see {log_name}")


def statement_of(query):
    """The shape of a SQL statement: its verb, table and (for an UPDATE) columns."""
    query = " ".join(query.split())
    if match := re.match(r'UPDATE "?(\w+)"? SET (.*?) WHERE', query, re.I):
        columns = sorted(set(re.findall(r'"(\w+)"\s*=', match.group(2))))
        return f"UPDATE {match.group(1)} SET {', '.join(columns) or match.group(2)[:60]}"
    if match := re.match(r'(INSERT INTO|DELETE FROM) "?(\w+)"?', query, re.I):
        return f"{match.group(1).upper()} {match.group(2)}"
    if match := re.match(r"SELECT .*? FROM \"?(\w+)\"?.*?(FOR (?:NO KEY )?UPDATE(?: OF \w+)?(?: SKIP LOCKED| NOWAIT)?)?$", query, re.I):  # fmt: skip
        return f"SELECT {match.group(1)}" + (f" {match.group(2)}" if match.group(2) else "")
    return query[:80]


def conflicts_in(lines):
    """The traced conflicts among log ``lines``: a Counter of ``(error, statement, code path)``."""
    found = Counter()
    for line in lines:
        if CONFLICT_TAG in line and " | " in line:
            _head, error, statement, path = line.rstrip().split(" | ", 3)
            found[(error, statement, path)] += 1
    return found


def retries_in(lines):
    """Odoo's concurrency retries among log ``lines`` (odoo.service.model.retrying).

    :return: ``(retries, exhausted, by_try, sleep)``: the retries, the requests that ran out of
        tries (they failed), a Counter of retries by try number (1 = a first retry), and the
        seconds the retries slept in all (Odoo waits up to 2**try seconds before each)
    """
    by_try, sleep = Counter(), 0.0
    for line in lines:
        if match := re.search(r"(\d+) tries left, try again in ([\d.]+) sec", line):
            by_try[MAX_TRIES - int(match.group(1))] += 1
            sleep += float(match.group(2))
    exhausted = sum("maximum number of tries reached" in line for line in lines)
    return by_try.total(), exhausted, by_try, sleep


class LockWaits(threading.Thread):
    """While running, sample every ``period`` seconds the locks that the sessions of ``db``
    wait for (pg_locks): a Counter of ``(lock awaited, table of the row)``; samples x period ~
    the time spent waiting. A conflict that ends in a retry first waits for the other
    transaction to end. A session waiting for a row holds the row's tuple lock and waits for
    the transaction that locked the row (``transactionid``); the tuple lock names the table.
    (The statement is left out: PostgreSQL reads it from a snapshot older than the wait.)"""

    def __init__(self, db, period=0.02):
        super().__init__(daemon=True)
        self.db, self.period, self.found = db, period, Counter()
        self._stop_event = threading.Event()

    def run(self):
        import psycopg2

        with psycopg2.connect(dbname=self.db) as connection, connection.cursor() as cr:
            connection.autocommit = True
            while not self._stop_event.wait(self.period):
                cr.execute(
                    """
                    SELECT w.locktype || ' ' || w.mode,
                           COALESCE(w.relation::regclass::text, (
                               SELECT string_agg(DISTINCT t.relation::regclass::text, ', ')
                                 FROM pg_locks t
                                WHERE t.pid = w.pid AND t.locktype = 'tuple' AND t.granted
                           ), '?')
                      FROM pg_locks w
                     WHERE NOT w.granted
                       AND w.pid IN (SELECT pid FROM pg_stat_activity WHERE datname = %s)
                    """,
                    (self.db,),
                )
                self.found.update(cr.fetchall())

    def stop(self):
        self._stop_event.set()
        self.join()
        return self.found


def _trace_conflicts():
    """Log each statement that fails on a concurrency conflict, with the addons' frames."""
    import psycopg2

    from odoo import sql_db

    logger = logging.getLogger(CONFLICT_TAG)
    execute = sql_db.Cursor.execute

    def traced_execute(self, query, params=None, log_exceptions=True):
        try:
            return execute(self, query, params, log_exceptions)
        except psycopg2.Error as error:
            if error.pgcode in CONFLICT_CODES:
                frames = traceback.extract_stack()[:-1]
                mine = [
                    f"{frame.filename.rsplit('/addons/', 1)[-1].replace(ROOT + '/', '')}:{frame.lineno} {frame.name}"
                    for frame in frames
                    if "/addons/" in frame.filename or frame.filename.startswith(f"{ROOT}/livechat_groups")
                ]
                core = next(
                    (
                        f"odoo/{frame.filename.rsplit('/odoo/', 1)[-1]}:{frame.lineno} {frame.name}"
                        for frame in reversed(frames)
                        if "/odoo/" in frame.filename and "sql_db" not in frame.filename
                    ),
                    "",
                )
                where = error.diag.context or ""
                logger.info(
                    " | %s%s | %s | %s",
                    error.diag.message_primary,
                    f" ({where.splitlines()[0]})" if where else "",
                    statement_of(self._obj.query.decode(errors="replace") if self._obj.query else str(query)),
                    " < ".join([*reversed(mine[-5:]), core]),
                )
            raise

    sql_db.Cursor.execute = traced_execute


if __name__ == "__main__":
    sys.path.insert(0, ODOO_SRC)
    import odoo

    _trace_conflicts()
    odoo.cli.main()
