"""The harness of the checks (scripts/) and the benchmarks (bench/): a multi-worker Odoo on
loopback whose concurrency conflicts are traced, odoo-bin and psql calls, JSON-RPC, calls released
at once, what a server's log says about retries and conflicts, and signed WhatsApp webhooks.

Run as a script, it is odoo-bin with one addition (``start_server`` runs it so): each statement
that fails on a concurrency conflict (serialization failure, deadlock, lock not available) is
logged by ``bench.conflict`` with its SQL and the Python frames of the addons that issued it, so
that a check or a benchmark can say which rows collide and which code path writes them::

    PYTHONPATH=. python livechat_groups_tools/harness.py --addons-path=... -d DB --workers=4 ...

(the prefork workers are forked from this process, so they inherit the tracing; the gevent
worker is started through the same script).
"""

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from livechat_groups_tools.standin import WHATSAPP_SIGNATURE_HEADER, whatsapp_signature

ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS_PATH = os.environ.get("ADDONS_PATH", f"{ODOO_SRC}/addons,{ODOO_SRC}/odoo/addons,{ROOT}")
# serialization_failure, deadlock_detected, lock_not_available: what Odoo retries
CONFLICT_CODES = ("40001", "40P01", "55P03")
CONFLICT_TAG = "bench.conflict"
MAX_TRIES = 5  # odoo.service.model.MAX_TRIES_ON_CONCURRENCY_FAILURE


# ------------------------------------------------------------
# Odoo and PostgreSQL
# ------------------------------------------------------------


def odoo_command(db, *args, command=()):
    """The command line of odoo-bin (``command`` e.g. ``["shell"]``) on ``db``."""
    return [sys.executable, f"{ODOO_SRC}/odoo-bin", *command, f"--addons-path={ADDONS_PATH}", "-d", db, *args]


def odoo(db, *args, command=(), **kwargs):
    """Run odoo-bin on ``db`` to completion (``check`` by default)."""
    return subprocess.run(odoo_command(db, *args, command=command), **{"check": True, **kwargs})


def registry(db):
    """Odoo's registry of ``db``, in this process (the benchmarks that time the ORM itself, which
    import Odoo from ``ODOO_SRC`` first)."""
    import odoo as odoo_package

    odoo_package.tools.config.parse_config([f"--addons-path={ADDONS_PATH}", "-d", db, "--log-level=warn"])
    return odoo_package.modules.registry.Registry(db)


def copy_rows(cr, table, template_id, overrides, source, params=None):
    """INSERT into ``table`` one copy of its row ``template_id`` (``t``) per row of ``source`` (a
    FROM clause, e.g. ``generate_series(1, %(count)s) g``), with ``overrides`` (column: SQL
    expression): the benchmarks' bulk histories, which the ORM would take an hour to write.

    :return: the number of rows inserted
    """
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id'",
        (table,),
    )
    columns = [column for (column,) in cr.fetchall() if column not in overrides] + list(overrides)
    # identifiers come from the catalogue; the values are SQL expressions of the benchmark
    names = ", ".join(f'"{column}"' for column in columns)
    select = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    cr.execute(
        f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t, {source} WHERE t.id = %(template)s",
        dict(params or {}, template=template_id),
    )
    return cr.rowcount


def sql(db, query):
    """The output of one psql query on ``db``: fields separated by ``|``, rows by new lines."""
    out = subprocess.run(["psql", "-d", db, "-tAc", query], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def database_exists(db):
    return sql("postgres", f"select 1 from pg_database where datname='{db}'") == "1"


def build_database(db, setup, template=None):
    """A fresh ``db`` with the addon (no demo data), then ``setup`` run in an Odoo shell; a copy of
    ``template`` instead when that database exists."""
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    if template and database_exists(template):
        print(f"copying {template} to {db} ...", flush=True)
        subprocess.run(["createdb", "-T", template, db], check=True)
        return
    print(f"building {db} ...", flush=True)
    odoo(db, "-i", "livechat_groups", "--without-demo=all", "--stop-after-init", "--log-level=warn")
    odoo(db, "--log-level=warn", command=["shell"], input=setup, text=True, capture_output=True)


def start_server(db, port, workers, log, extra=()):
    """Odoo on loopback, ``workers`` HTTP workers on ``port`` (gevent on ``port + 3``), its
    conflicts traced (see the module's docstring), logging into the file object ``log``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), f"--addons-path={ADDONS_PATH}", "-d", db,
         f"--db-filter=^{db}$", f"--http-port={port}", f"--gevent-port={port + 3}",
         "--http-interface=127.0.0.1", f"--workers={workers}", "--max-cron-threads=0",
         "--limit-time-real=300", "--log-level=info", *extra],
        stdout=log, stderr=subprocess.STDOUT, env=env,
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


# ------------------------------------------------------------
# Calls
# ------------------------------------------------------------


def jsonrpc(session, base, route, params):
    response = session.post(
        f"{base}{route}", json={"jsonrpc": "2.0", "method": "call", "params": params}, timeout=120
    )
    response.raise_for_status()
    return response.json()


def at_once(count, fn):
    """Run ``fn(i)`` in ``count`` threads released together; return the results."""
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait()
        return fn(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def post_whatsapp(http, url, app_secret, wa_id, wamid, text, name):
    """Post one customer's text message to the webhook ``url`` as Meta does, signed with
    ``app_secret``, through ``http`` (``requests`` or a ``requests.Session``); return the response."""
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "harness", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"},
                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                              "type": "text", "text": {"body": text}}],
            }}]}],
        }
    ).encode()  # fmt: skip
    headers = {
        "Content-Type": "application/json",
        WHATSAPP_SIGNATURE_HEADER: whatsapp_signature(body, app_secret),
    }
    return http.post(url, data=body, headers=headers, timeout=120)


# ------------------------------------------------------------
# What the server's log says
# ------------------------------------------------------------


def read_log(log_name, offset=0):
    """The log lines written since ``offset``, and the new offset."""
    with open(log_name) as server_log:
        server_log.seek(offset)
        lines = server_log.readlines()
        return lines, server_log.tell()


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
