"""Two Odoo servers on one database, as behind a load balancer (run by scripts/test.sh).

Starts two servers (separate processes and ports, each with its own workers and gevent port)
on one database with no shared memory but PostgreSQL and the filestore, then:

1. runs the races of scripts/concurrency_check.py with the calls sent to both servers
   alternately (a user logs in on one server and acts on the other): the same guarantees hold;
2. connects an operator to server B's /websocket (its gevent port), as the web client does,
   and opens a visitor's session on server A: the operator hears of it on B within
   WS_DELAY_LIMIT seconds (the bus goes through PostgreSQL's NOTIFY).

Usage: python scripts/two_servers_check.py (environment: ODOO_SRC, ADDONS_PATH,
TWO_SERVERS_DB, TWO_SERVERS_PORTS "A,B" (gevent ports: each + 3), TWO_SERVERS_WORKERS,
CONCURRENCY_TEMPLATE_DB: a database concurrency_check.py left, copied instead of building one).
Prints one line per check and "checks: N passed, N failed"; exits 1 when any check fails.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import requests
import websocket

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from concurrency_check import SETUP, VISITORS, report, run_races

from livechat_groups_tools import harness
from livechat_groups_tools.harness import jsonrpc, sql

DB = os.environ.get("TWO_SERVERS_DB", "livechat_groups_two_servers")
PORTS = [int(port) for port in os.environ.get("TWO_SERVERS_PORTS", "8339,8349").split(",")]
WORKERS = int(os.environ.get("TWO_SERVERS_WORKERS", "2"))
WS_DELAY_LIMIT = 5.0  # seconds


def names_channel(value, channel_id):
    """Whether a bus notification's payload carries the record ``discuss.channel`` ``channel_id``."""
    if isinstance(value, dict):
        records = value.get("discuss.channel")
        if isinstance(records, dict):
            records = [records]
        if isinstance(records, list) and any(
            isinstance(record, dict) and record.get("id") == channel_id for record in records
        ):
            return True
        return any(names_channel(item, channel_id) for item in value.values())
    if isinstance(value, list):
        return any(names_channel(item, channel_id) for item in value)
    return False


def websocket_check(base_a, base_b, gevent_b):
    """An operator on server B's websocket hears of a session a visitor opened on server A.

    :return: a list of ``(name, ok, detail)``
    """
    echo_id = int(
        sql(DB, "select value from ir_config_parameter where key='livechat_groups.echo_channel_id'")
    )
    operator = requests.Session()
    jsonrpc(
        operator, base_b, "/web/session/authenticate", {"db": DB, "login": "listener", "password": "listener"}
    )
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{gevent_b}/websocket",
        cookie=f"session_id={operator.cookies['session_id']}",
        origin=f"http://127.0.0.1:{gevent_b}",
        timeout=WS_DELAY_LIMIT * 4,
    )
    # The message the web client's websocket worker sends first (bus/static/src/workers).
    ws.send(json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}}))
    heard = []  # (monotonic time, notification type, payload)

    def listen():
        try:
            while True:
                for notification in json.loads(ws.recv()):
                    message = notification.get("message", {})
                    heard.append((time.monotonic(), message.get("type"), message.get("payload")))
        except (websocket.WebSocketException, OSError, ValueError):
            return  # closed at the end of the check

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1)  # the subscription is served before the session opens
    started = time.monotonic()
    data = jsonrpc(requests.Session(), base_a, "/im_livechat/get_session",
                   {"channel_id": echo_id, "anonymous_name": "Echo visitor"})  # fmt: skip
    answered = time.monotonic() - started
    session_id = data["result"]["discuss.channel"][0]["id"]
    deadline = started + WS_DELAY_LIMIT * 3
    first = None
    while time.monotonic() < deadline and first is None:
        first = next((entry for entry in list(heard) if names_channel(entry[2], session_id)), None)
        time.sleep(0.02)
    ws.close()
    listener.join(timeout=5)
    routed = sql(
        DB,
        f"select u.login from discuss_channel c join res_users u on u.partner_id = c.livechat_operator_id where c.id={session_id}",
    )
    delay = first[0] - started if first else None
    return [
        (
            "server A routes the visitor to the operator listening on B",
            routed == "listener",
            f"operator {routed!r}",
        ),
        (
            f"the operator on B's websocket hears of it within {WS_DELAY_LIMIT:.0f} s",
            delay is not None and delay < WS_DELAY_LIMIT,
            f"{delay:.3f} s after the visitor's call, which A answered in {answered:.3f} s, as {first[1]!r}"
            if first
            else f"not heard in {WS_DELAY_LIMIT * 3:.0f} s; heard {[entry[1] for entry in heard]}",
        ),
    ]


def main():
    # The database concurrency_check.py built, copied before its races, when it left one.
    harness.build_database(DB, SETUP, template=os.environ.get("CONCURRENCY_TEMPLATE_DB"))
    bases = [f"http://127.0.0.1:{port}" for port in PORTS]
    with contextlib.ExitStack() as stack:
        logs = [
            stack.enter_context(
                tempfile.NamedTemporaryFile(prefix=f"odoo-two-servers-{port}-", suffix=".log", delete=False)
            )
            for port in PORTS
        ]
        servers = []
        try:
            for port, log in zip(PORTS, logs, strict=True):
                servers.append(harness.start_server(DB, port, WORKERS, log))
            for base, log in zip(bases, logs, strict=True):
                harness.wait_until_up(base, log.name)
            results, elapsed = run_races(DB, bases)
            results += websocket_check(bases[0], bases[1], PORTS[1] + 3)
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=60)
    counts = [harness.retries_in(harness.read_log(log.name)[0])[:2] for log in logs]
    subprocess.run(["dropdb", "--if-exists", DB], check=False)
    if any(not ok for _, ok, _ in results):
        print(f"server logs: {' '.join(log.name for log in logs)}")
    else:
        for log in logs:
            os.unlink(log.name)
    print(
        f"{VISITORS} simultaneous get_session on 2 servers × {WORKERS} workers: {elapsed:.2f} s;"
        f" concurrency retries: {sum(r for r, _ in counts)}, exhausted: {sum(e for _, e in counts)}"
    )
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
