"""Odoo with a read replica that lags (run by scripts/test.sh through scripts/replica_check.sh).

Odoo 18 serves its read-only requests (``readonly=True`` routes, such as ``/discuss/channel/info``,
and ``call_kw`` of the methods marked ``@api.readonly``, such as the board's
``web_search_read``) from a streaming replica when started with ``--db_replica_host``. This check
runs a PostgreSQL primary and its streaming replica of its own (var/replica_pg, unix sockets only,
ports REPLICA_PG_PORT 5496 and REPLICA_PG_PORT + 1; the cluster other runs use is never touched):
the primary from ``initdb``, the replica from ``pg_basebackup -R``, then Odoo (2 workers, port
REPLICA_PORT) on the primary with ``--db_replica_host``/``--db_replica_port`` on the replica.
With the replica caught up on a waiting session, its replay is paused
(``pg_wal_replay_pause()``), then, as the users would:

1. an operator takes the session and Discuss opens it (``/discuss/channel/info``, served by the
   replica where it still waits and he is not a member): no Access Error;
2. the supervisors' board reloaded after the Take (the bus's news) shows it taken, while a plain
   read-only call still reads it waiting (the replica lags: what this check is about);
3. an Assign made on the stale card (waiting, nobody holds it) is refused with a message that says
   who took it, and the confirmed Assign then assigns it;
4. with the replica caught up on that, then paused again, the supervisor gives the session to a
   third operator, and his Discuss opens it (the replica still shows it as the second operator's,
   not his to read: ``/discuss/channel/info`` looks for it on the primary), and nobody else reads it
   that way (another operator of the group, a visitor, a malformed id);
5. a session created during the lag appears on the board's reload.

Replay is resumed at the end. Prints one line per check and "replica checks: N passed, M failed";
exits 1 when one fails.

The database: a copy of REPLICA_TEMPLATE_DB (on the default cluster: the one
scripts/concurrency_check.py leaves, with its set-up) when given, else built with that set-up.
Environment: ODOO_SRC, ADDONS_PATH, REPLICA_PG_BIN (PostgreSQL's bin folder; the newest of
/usr/lib/postgresql/*/bin by default), REPLICA_KEEP=1 (leave the clusters running).
"""

import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from concurrency_check import SETUP  # noqa: E402

from livechat_groups_tools import harness  # noqa: E402
from livechat_groups_tools.harness import jsonrpc  # noqa: E402

DB = os.environ.get("REPLICA_DB", "livechat_groups_replica")
PORT = int(os.environ.get("REPLICA_PORT", "8359"))
PG_PORT = int(os.environ.get("REPLICA_PG_PORT", "5496"))
REPLICA_PG_PORT = PG_PORT + 1
PG_DIR = os.environ.get("REPLICA_PG_DIR", os.path.join(ROOT, "var", "replica_pg"))
PRIMARY = os.path.join(PG_DIR, "primary")
REPLICA = os.path.join(PG_DIR, "replica")
SOCKET = os.path.join(PG_DIR, "socket")
TEMPLATE = os.environ.get("REPLICA_TEMPLATE_DB")
CATCH_UP_TIMEOUT = 30  # seconds


# ------------------------------------------------------------
# PostgreSQL: a primary and its streaming replica, of this check's own
# ------------------------------------------------------------


def pg_bin(name):
    folder = os.environ.get("REPLICA_PG_BIN")
    if not folder:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(re.sub(r"\D", "", path) or 0)
        )
        folder = found[-1] if found else os.path.dirname(shutil.which("pg_ctl") or "/usr/bin/pg_ctl")
    return os.path.join(folder, name)


def as_owner(command):
    """``command`` as the clusters' owner: PostgreSQL refuses to run as root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:6])} ... failed: {done.stderr or done.stdout}")
    return done.stdout


def pg_ctl(data, *args, check=True):
    log = os.path.join(PG_DIR, f"{os.path.basename(data)}.log")
    command = as_owner([pg_bin("pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60", *args])
    return run(command) if check else subprocess.run(command, capture_output=True, check=False)


def psql(port, db, query):
    """One query on this check's cluster ``port``: its output, fields separated by ``|``."""
    return run(["psql", "-h", SOCKET, "-p", str(port), "-d", db, "-tAc", query]).strip()


def clusters_stop():
    for data in (REPLICA, PRIMARY):
        if os.path.exists(os.path.join(data, "PG_VERSION")):
            pg_ctl(data, "-m", "fast", "stop", check=False)


def clusters_start():
    """A fresh primary (trust, fsync off: a throw-away) and its streaming replica."""
    clusters_stop()
    shutil.rmtree(PG_DIR, ignore_errors=True)
    os.makedirs(SOCKET)
    if os.geteuid() == 0:
        for folder in (PG_DIR, SOCKET):
            shutil.chown(folder, "postgres")
    user = pwd.getpwuid(os.geteuid()).pw_name
    run(as_owner([pg_bin("initdb"), "-D", PRIMARY, "-A", "trust", "-E", "UTF8", "-U", user, "--no-sync",
                  "--locale=C.UTF-8"]))  # fmt: skip
    # in the cluster's own configuration, so that it keeps to its port and socket (never the
    # default ones of the cluster other runs use)
    with open(os.path.join(PRIMARY, "postgresql.auto.conf"), "a") as conf:
        conf.write(
            f"port = {PG_PORT}\nunix_socket_directories = '{SOCKET}'\nlisten_addresses = ''\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nwal_level = replica\n"
            "max_wal_senders = 4\nmax_connections = 60\nshared_buffers = '64MB'\n"
        )
    pg_ctl(PRIMARY, "start")
    run(as_owner([pg_bin("pg_basebackup"), "-h", SOCKET, "-p", str(PG_PORT), "-U", user, "-D", REPLICA,
                  "-R", "-X", "stream", "--no-sync"]))  # fmt: skip
    with open(os.path.join(REPLICA, "postgresql.auto.conf"), "a") as conf:
        conf.write(f"port = {REPLICA_PG_PORT}\nhot_standby = on\n")
    pg_ctl(REPLICA, "start")


def build_database():
    """The database on the primary: a copy of TEMPLATE (default cluster) or a new one."""
    env = dict(os.environ, PGHOST=SOCKET, PGPORT=str(PG_PORT))
    if TEMPLATE and harness.database_exists(TEMPLATE):
        print(f"copying {TEMPLATE} to this check's primary ...", flush=True)
        run(["createdb", DB], env=env)
        dump = subprocess.Popen(["pg_dump", "--no-owner", "-d", TEMPLATE], stdout=subprocess.PIPE)
        run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB], stdin=dump.stdout, env=env)
        if dump.wait():
            raise SystemExit(f"pg_dump {TEMPLATE} failed")
        return
    os.environ.update(PGHOST=SOCKET, PGPORT=str(PG_PORT))
    harness.build_database(DB, SETUP)


def caught_up(session_id=None):
    """Wait until the replica replayed all the primary wrote, and reads the session
    ``session_id`` when given; return whether it did."""
    target = psql(PG_PORT, "postgres", "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    while time.monotonic() < deadline:
        replayed = psql(REPLICA_PG_PORT, "postgres", f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
        if replayed == "t" and (
            session_id is None
            or psql(REPLICA_PG_PORT, DB, f"SELECT count(*) FROM discuss_channel WHERE id = {int(session_id)}")
            == "1"
        ):
            return True
        time.sleep(0.2)
    return False


# ------------------------------------------------------------
# The calls, as the web client makes them
# ------------------------------------------------------------


class Client:
    def __init__(self, base, login=None):
        self.base, self.http = base, requests.Session()
        if login:
            self.call("/web/session/authenticate", {"db": DB, "login": login, "password": login})

    def call(self, route, params):
        """The JSON-RPC answer: ``(result, error)``."""
        answer = jsonrpc(self.http, self.base, route, params)
        return answer.get("result"), answer.get("error")

    def kw(self, model, method, *args, **kwargs):
        return self.call(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )


def board(supervisor, domain, primary):
    """The board's read (``web_search_read``, read-only), as its reload after the bus's news
    (``primary``) or as any other read: ``{session id: (state, holder id)}``."""
    context = {"livechat_groups_primary": True} if primary else {}
    result, error = supervisor.kw(
        "discuss.channel",
        "web_search_read",
        domain,
        specification={"livechat_routing_state": {}, "livechat_operator_user_id": {}},
        context=context,
    )
    if error:
        raise SystemExit(f"the board's read failed: {error['data']['message']}")
    return {r["id"]: (r["livechat_routing_state"], r["livechat_operator_user_id"]) for r in result["records"]}


def checks(base):
    results = []
    manual_id = int(
        psql(PG_PORT, DB, "SELECT id FROM im_livechat_channel WHERE name = 'Race Manual Live Chat'")
    )
    racers = dict(
        line.split("|")
        for line in psql(
            PG_PORT, DB, "SELECT login, id FROM res_users WHERE login IN ('racer0', 'racer1')"
        ).split()
    )
    visitor = Client(base)
    waiting, _error = visitor.call(
        "/im_livechat/get_session", {"channel_id": manual_id, "anonymous_name": "Lagging visitor"}
    )
    session_id = waiting["discuss.channel"][0]["id"]
    results.append(
        ("the replica replayed the waiting session", caught_up(session_id), f"session {session_id}")
    )
    psql(REPLICA_PG_PORT, "postgres", "SELECT pg_wal_replay_pause()")
    try:
        # 1. the operator takes it, then Discuss opens it: the replica still has it waiting
        operator = Client(base, "racer0")
        _taken, error = operator.kw("discuss.channel", "action_livechat_take", [session_id])
        info, info_error = operator.call("/discuss/channel/info", {"channel_id": session_id})
        members = {m.get("id") for m in (info or {}).get("discuss.channel.member", [])}
        results.append(
            (
                "Take, then Discuss opens the session from the lagging replica: no Access Error",
                not error and not info_error and bool(info),
                (error or info_error or {}).get("data", {}).get("message")
                or f"channel info read with {len(members)} member(s)",
            )
        )
        # 2. the board
        supervisor = Client(base, "admin")
        domain = [("id", "=", session_id)]
        stale = board(supervisor, domain, primary=False)
        fresh = board(supervisor, domain, primary=True)
        results.append(
            (
                "the replica lags: a read-only call still reads the session waiting",
                stale.get(session_id, ("?",))[0] == "queued",
                f"read {stale}",
            )
        )
        results.append(
            (
                "the board's reload after the Take shows it taken",
                fresh.get(session_id) == ("assigned", int(racers["racer0"])),
                f"read {fresh}",
            )
        )
        # 3. an Assign on the stale card
        seen = {"livechat_routing_state": "queued", "livechat_operator_user_id": False}
        _result, error = supervisor.kw(
            "discuss.channel", "action_livechat_assign", [session_id], int(racers["racer1"]), seen=seen
        )
        message = (error or {}).get("data", {}).get("message", "")
        results.append(
            (
                "an Assign on the stale card is refused, saying who took it",
                bool(error)
                and error["data"]["name"].endswith("LivechatSessionChanged")
                and re.match(r"Racer 0 took this session at \d\d:\d\d\. Assign it anyway\?", message),
                message or "assigned without a word",
            )
        )
        _result, error = supervisor.kw(
            "discuss.channel", "action_livechat_assign", [session_id], int(racers["racer1"])
        )
        fresh = board(supervisor, domain, primary=True)
        results.append(
            (
                "the confirmed Assign assigns it",
                not error and fresh.get(session_id) == ("assigned", int(racers["racer1"])),
                (error or {}).get("data", {}).get("message") or f"read {fresh}",
            )
        )
        # 3b. given from another operator's hands: the replica, caught up then paused again, has it
        # held by racer1; the supervisor gives it to racer2, who never was in it, and his Discuss
        # loads it
        psql(REPLICA_PG_PORT, "postgres", "SELECT pg_wal_replay_resume()")
        replayed = caught_up()
        psql(REPLICA_PG_PORT, "postgres", "SELECT pg_wal_replay_pause()")
        third = Client(base, "racer2")
        third_id = int(psql(PG_PORT, DB, "SELECT id FROM res_users WHERE login = 'racer2'"))
        _result, error = supervisor.kw("discuss.channel", "action_livechat_assign", [session_id], third_id)
        info, info_error = third.call("/discuss/channel/info", {"channel_id": session_id})
        loaded = [c.get("id") for c in (info or {}).get("discuss.channel", [])]
        results.append(
            (
                "an operator given a session another one held opens it while the replica lags",
                replayed and not error and not info_error and loaded == [session_id],
                (error or info_error or {}).get("data", {}).get("message")
                or f"replica caught up before: {replayed}; channel info read: {loaded}",
            )
        )
        # ... and nobody else reads it through the primary: another operator of the group, a
        # visitor, a malformed id
        others = [
            Client(base, "racer3").call("/discuss/channel/info", {"channel_id": session_id}),
            Client(base).call("/discuss/channel/info", {"channel_id": session_id}),
            Client(base, "racer3").call("/discuss/channel/info", {"channel_id": f"{session_id} OR 1=1"}),
        ]
        results.append(
            (
                "nobody else reads it through the primary (another operator, a visitor, a malformed id)",
                all(not result for result, _error in others),
                f"answers: {[result if result else (error or {}).get('data', {}).get('name') for result, error in others]}",
            )
        )
        # 4. a session created during the lag
        created, _error = Client(base).call(
            "/im_livechat/get_session", {"channel_id": manual_id, "anonymous_name": "Visitor during lag"}
        )
        new_id = created["discuss.channel"][0]["id"]
        domain = [("livechat_supervised", "=", True), ("livechat_routing_state", "=", "queued")]
        fresh, stale = board(supervisor, domain, primary=True), board(supervisor, domain, primary=False)
        results.append(
            (
                "a session created during the lag appears on the board's reload",
                new_id in fresh,
                f"session {new_id}: on the reload {new_id in fresh}, on the lagging replica {new_id in stale}",
            )
        )
    finally:
        psql(REPLICA_PG_PORT, "postgres", "SELECT pg_wal_replay_resume()")
    results.append(("replay resumed: the replica catches up", caught_up(), ""))
    return results


def report(results):
    failed = sum(not ok for _, ok, _ in results)
    for name, ok, detail in results:
        print(f"check {'ok    ' if ok else 'FAILED'} {name}{'  (' + detail + ')' if detail else ''}")
    print(f"replica checks: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    started = time.monotonic()
    clusters_start()
    try:
        build_database()
        base = f"http://127.0.0.1:{PORT}"
        with tempfile.NamedTemporaryFile(prefix="odoo-replica-", suffix=".log", delete=False) as log:
            # --db-filter in start_server keeps the server on this database
            server = harness.start_server(
                DB, PORT, 2, log,
                extra=[f"--db_host={SOCKET}", f"--db_port={PG_PORT}",
                       f"--db_replica_host={SOCKET}", f"--db_replica_port={REPLICA_PG_PORT}"],
            )  # fmt: skip
            try:
                harness.wait_until_up(base, log.name)
                results = checks(base)
            finally:
                server.terminate()
                server.wait(timeout=60)
        if all(ok for _, ok, _ in results):
            os.unlink(log.name)
        else:
            print(f"server log: {log.name}")
    finally:
        if os.environ.get("REPLICA_KEEP") != "1":
            clusters_stop()
    print(f"replica check: {time.monotonic() - started:.0f} s")
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
