"""Faults under load against a real multi-worker Odoo (``make faults``, run by .ci/run).

The races of scripts/concurrency_check.py hold while everything works; this check breaks things
while bounded load runs, and checks after each fault what must survive it. It runs its OWN
PostgreSQL cluster (``initdb`` into var/faults_pg, port FAULTS_PG_PORT, 5499, unix socket only:
the cluster other runs use is never touched), a 4-worker Odoo with one cron worker on port
FAULTS_PORT (8421; gevent 8424), with livechat_groups_outage loaded server-wide (the webhook's
503 while the database is away), and the WhatsApp stand-in (livechat_groups_tools/standin.py) on
FAULTS_STANDIN_PORT (8428), which posts a "sent" status for each message it accepts.

The load, in every phase: web visitors (``/im_livechat/get_session``, retried once with the same
cookies when it fails, as a widget would, then a message), WhatsApp customers through the signed
webhook (redelivered up to three times when not answered 200, as Meta does), and operators
answering the sessions they hold (each answer carries a token the stand-in reads back) and closing
them at the next round. The faults, one phase each, injected mid-burst:

* HTTP workers SIGKILLed (by PID: the children of Odoo's master that are not its cron worker
  (nice 10) nor its gevent process);
* the PostgreSQL cluster restarted (``pg_ctl restart`` on this check's cluster);
* webhooks delivered while the cluster is stopped (what they are answered is counted by kind),
  then delivered again once it is back;
* the stand-in answering 500, hanging longer than the addon's 10 s timeout, refusing connections
  (stopped), and accepting late (200 after the timeout);
* the cron worker SIGKILLed twice in the middle of the outbox's batch.

After each fault, in SQL: every visitor answered 200 has exactly one session; no operator above
capacity; no session with two operators; every waiting session in an active group's queue; every
webhook answered 200 stored once. Throughout, a sampler reads the outbox every 0.2 s: no state moves
backwards. At the end, once the outbox is settled (due rows sent, bounded wait): every answer
reached the stand-in once, or is failed (or waiting for its next try, or for WhatsApp's word on
a send whose outcome is unknown) with a reason; and no answer reached it twice (the outbox's
documented window: none; the addon's README, Messengers). Prints a table per phase (requests, answered, errors by
kind, duplicates, lost, recovery time) and "checks: N passed, M failed"; exits 1 when one fails.

The addon built on the cluster is kept as a template keyed by the addon's files, so that a second
run skips the install. Environment: ODOO_SRC, ADDONS_PATH, FAULTS_PG_BIN (PostgreSQL's bin
folder; the newest of /usr/lib/postgresql/*/bin by default), FAULTS_OUTAGE_MODULE=0 (without
livechat_groups_outage: Odoo's own 404 is then expected), FAULTS_KEEP=1 (keep the cluster
running and the server log); ``--stop`` stops a cluster a run left running (``make clean``).
"""

import glob
import hashlib
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5499"))
PG_DIR = os.environ.get("FAULTS_PG_DIR", os.path.join(ROOT, "var", "faults_pg"))
PG_DATA = os.path.join(PG_DIR, "data")
PG_SOCKET = os.path.join(PG_DIR, "socket")
PG_LOG = os.path.join(PG_DIR, "postgres.log")
# psql, createdb and Odoo (libpq) all reach this check's cluster, and only it
os.environ["PGHOST"] = PG_SOCKET
os.environ["PGPORT"] = str(PG_PORT)
os.environ.pop("PGDATABASE", None)

from livechat_groups_tools import harness  # noqa: E402
from livechat_groups_tools.harness import jsonrpc, sql  # noqa: E402
from livechat_groups_tools.standin import StandIn, whatsapp_signature  # noqa: E402

DB = os.environ.get("FAULTS_DB", "livechat_groups_faults")
PORT = int(os.environ.get("FAULTS_PORT", "8421"))
STANDIN_PORT = int(os.environ.get("FAULTS_STANDIN_PORT", "8428"))
WORKERS = 4
OPERATORS = 4
CAPACITY = 2
APP_SECRET = "faults-secret"
WEBHOOK = "faults-whatsapp"
PHONE_ID = "1"
ADDON_TIMEOUT = 10  # seconds: livechat_groups.messengers.whatsapp.WhatsAppApi's timeout
HANG = ADDON_TIMEOUT + 4  # the stand-in hangs this long, then answers 503
LATE = ADDON_TIMEOUT + 1.5  # the stand-in accepts (200) this late
# the webhook's answer while the database is away: livechat_groups_outage loaded server-wide
# (503 and Retry-After), or Odoo's own (404) with FAULTS_OUTAGE_MODULE=0
OUTAGE_MODULE = os.environ.get("FAULTS_OUTAGE_MODULE", "1") != "0"
CALL_TIMEOUT = 40  # seconds: no call of the load waits longer
SETTLE_TIMEOUT = 100  # seconds: the outbox's due rows are sent within this, at the end
# how long a send whose outcome is unknown waits for WhatsApp's status before it fails (the system
# parameter livechat_groups.outbox_uncertain_seconds; 2 min by default), and how long it may stay
# "sending" here: that wait and the send job's 1-minute interval, with 40 s to spare
UNCERTAIN_SECONDS = 20
UNSURE_WAIT = f"{UNCERTAIN_SECONDS + 60 + 40} seconds"

SETUP = f"""
from odoo import Command
users = env["res.users"].create([
    {{"name": f"Fault Operator {{i}}", "login": f"fop{{i}}", "password": f"fop{{i}}",
      "groups_id": [Command.link(env.ref("base.group_user").id)]}}
    for i in range({OPERATORS})
])
group = env["livechat.group"].create({{"name": "Faulters", "user_ids": [Command.set(users.ids)]}})
livechat = env["im_livechat.channel"].create({{
    "name": "Faults Live Chat", "user_ids": [Command.clear()],
    "entry_group_ids": [Command.set(group.ids)], "supervisor_group_ids": [Command.set(group.ids)],
    "max_sessions_per_operator": {CAPACITY},
}})
for user in users:
    env["bus.presence"].create({{"user_id": user.id, "status": "online"}})
env["livechat.messenger"].create({{
    "name": "Faults WhatsApp", "livechat_channel_id": livechat.id, "app_secret": "{APP_SECRET}",
    "access_token": "standin-token", "phone_number_id": "{PHONE_ID}", "webhook_token": "{WEBHOOK}",
    "api_base_url": "http://127.0.0.1:{STANDIN_PORT}/v21.0",
}})
env["ir.config_parameter"].set_param("livechat_groups.faults_channel_id", livechat.id)
# a send whose outcome is unknown waits this long for WhatsApp's status, then fails (2 min by default)
env["ir.config_parameter"].set_param("livechat_groups.outbox_uncertain_seconds", "{UNCERTAIN_SECONDS}")
env.cr.commit()
"""

TOKEN = re.compile(r"ans-[0-9a-f]{12}")


# ------------------------------------------------------------
# PostgreSQL: this check's own cluster
# ------------------------------------------------------------


def pg_bin(name):
    folder = os.environ.get("FAULTS_PG_BIN")
    if not folder:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(re.sub(r"\D", "", path) or 0)
        )
        folder = found[-1] if found else os.path.dirname(shutil.which("pg_ctl") or "/usr/bin/pg_ctl")
    return os.path.join(folder, name)


def as_owner(command):
    """``command`` as the cluster's owner: PostgreSQL refuses to run as root, so root runs it as
    the ``postgres`` user (the cluster's superuser is still named after who runs the check)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def pg_ctl(*args, check=True):
    return subprocess.run(
        as_owner([pg_bin("pg_ctl"), "-D", PG_DATA, "-l", PG_LOG, "-w", "-t", "60", *args]),
        check=check,
        capture_output=True,
        text=True,
    )


def cluster_start():
    """Create the cluster once (trust, fsync off: a throw-away), start it unless it runs."""
    os.makedirs(PG_SOCKET, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(PG_DIR, "postgres")
        shutil.chown(PG_SOCKET, "postgres")
    if not os.path.exists(os.path.join(PG_DATA, "PG_VERSION")):
        user = pwd.getpwuid(os.geteuid()).pw_name
        done = subprocess.run(
            as_owner([pg_bin("initdb"), "-D", PG_DATA, "-A", "trust", "-E", "UTF8", "-U", user,
                      "--no-sync", "--locale=C.UTF-8"]),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"initdb failed: {done.stderr}")
    # in the cluster's own configuration, so that every start and restart keeps to its port and
    # socket (never the default ones of the cluster other runs use)
    with open(os.path.join(PG_DATA, "postgresql.auto.conf"), "w") as conf:
        conf.write(
            f"port = {PG_PORT}\nunix_socket_directories = '{PG_SOCKET}'\nlisten_addresses = ''\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "max_connections = 150\nshared_buffers = '64MB'\n"
        )
    if os.geteuid() == 0:
        shutil.chown(os.path.join(PG_DATA, "postgresql.auto.conf"), "postgres")
    if pg_ctl("status", check=False).returncode == 0:
        return
    pg_ctl("start")


def cluster_stop():
    pg_ctl("-m", "fast", "stop", check=False)


def addon_key():
    """A hash of the addon's files: the template database is rebuilt when one changes."""
    digest = hashlib.sha256(SETUP.encode())
    for folder, dirs, files in sorted(os.walk(os.path.join(ROOT, "livechat_groups"))):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".pyc", ".po")):
                continue
            path = os.path.join(folder, name)
            digest.update(path.encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:12]


def build_database():
    template = f"faults_tpl_{addon_key()}"
    if not harness.database_exists(template):
        for old in sql(
            "postgres", "select datname from pg_database where datname like 'faults_tpl_%'"
        ).split():
            subprocess.run(["dropdb", "--if-exists", old], check=True)
        harness.build_database(DB, SETUP)
        subprocess.run(["createdb", "-T", DB, template], check=True)
    harness.build_database(DB, SETUP, template=template)


# ------------------------------------------------------------
# The stand-in, with its faults
# ------------------------------------------------------------


class FaultyStandIn(StandIn):
    """The WhatsApp stand-in whose message sends can fail: ``fault(mode, count)`` makes the next
    ``count`` sends (all while ``count`` is None) answer 500, hang, accept late or slowly;
    ``refuse()`` / ``resume()`` stop and start listening. ``sends`` logs each send:
    ``(time, token, outcome)``, outcome ``accepted`` for a 200 Odoo may or may not have read."""

    def __init__(self, port):
        super().__init__(provider="whatsapp", port=port, app_secret=APP_SECRET, phone_number_id=PHONE_ID)
        self.server.handle_error = lambda *args: None  # a hung answer's socket is closed by then
        self.mode, self.left = "ok", None
        self.sends = []
        self.webhook_url = None  # where the messages' statuses are posted
        self.statuses = Counter()  # the answers of Odoo's webhook to the statuses, by kind

    def fault(self, mode, count=None):
        with self._lock:
            self.mode, self.left = mode, count

    def _take_mode(self):
        with self._lock:
            mode = self.mode
            if self.left is not None:
                self.left -= 1
                if self.left <= 0:
                    self.mode, self.left = "ok", None
            return mode

    def _whatsapp(self, request):
        if not request.path.split("?")[0].endswith("/messages"):
            return super()._whatsapp(request)
        found = TOKEN.search(json.dumps(request.json))
        token = found.group(0) if found else None
        arrived = time.monotonic()  # logged at arrival: a send is Odoo's from then on
        mode = self._take_mode()
        outcome, answer = None, None
        if mode == "500":
            outcome = "500"
            answer = 500, {"error": {"code": 1, "message": "An unknown error occurred"}}, "application/json"
        elif mode == "hang":
            time.sleep(HANG)
            outcome = "hung"
            answer = (
                503,
                {"error": {"code": 2, "message": "Service temporarily unavailable"}},
                "application/json",
            )
        else:
            time.sleep({"late": LATE, "slow": 0.6}.get(mode, 0))
            answer = super()._whatsapp(request)
            outcome = (
                ("accepted-late" if mode == "late" else "accepted") if answer[0] == 200 else str(answer[0])
            )
            if answer[0] == 200 and self.webhook_url:
                threading.Thread(target=self._tell_sent, args=(request.json, answer[1]), daemon=True).start()
        with self._lock:
            self.sends.append((arrived, token, outcome))
        return answer

    def _tell_sent(self, message, answer):
        """WhatsApp's "sent" status of an accepted message, posted to Odoo's webhook as Meta does
        (with the message's ``biz_opaque_callback_data``), delivered again until answered 200."""
        time.sleep(0.3)
        status = self.whatsapp_status(
            answer["messages"][0]["id"],
            "sent",
            message["to"],
            reference=message.get("biz_opaque_callback_data"),
        )
        payload = self.whatsapp_payload(message["to"], statuses=[status])
        for attempt in range(5):
            try:
                code, _body = self.post_webhook(self.webhook_url, payload, timeout=CALL_TIMEOUT)
            except OSError:
                code = "unreachable"
            with self._lock:
                self.statuses[str(code)] += 1
            if code == 200:
                return
            time.sleep(2 + 2 * attempt)

    def refuse(self):
        self.server.shutdown()
        self.server.server_close()

    def resume(self):
        host, port = self.server.server_address[:2]
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None
        self.start()

    def count(self, outcome):
        with self._lock:
            return sum(1 for _at, _token, logged in self.sends if logged == outcome)

    def accepted(self, since=0.0):
        with self._lock:
            return [
                token for at, token, outcome in self.sends if at >= since and outcome.startswith("accepted")
            ]


# ------------------------------------------------------------
# Odoo's processes
# ------------------------------------------------------------


def children(master_pid):
    """Odoo's workers: ``{"http": [pids], "cron": [pids], "gevent": [pids]}`` (the cron worker
    runs at nice 10; the gevent process is odoo-bin's ``gevent`` command)."""
    found = defaultdict(list)
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            pid = int(stat.split("/")[2])
            if int(fields[1]) != master_pid:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if fields[0] == "Z":
            continue
        kind = "gevent" if b"gevent" in cmdline else "cron" if int(fields[16]) == 10 else "http"
        found[kind].append(pid)
    return found


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


# ------------------------------------------------------------
# The load
# ------------------------------------------------------------


class Load:
    """The calls of the check and what they were answered."""

    def __init__(self, base, channel_id):
        self.base, self.channel_id = base, channel_id
        self.lock = threading.Lock()
        self.phase = "set-up"
        self.calls = defaultdict(Counter)  # phase -> Counter(kind of answer)
        self.visitors = {}  # anonymous name -> list of answers ("200" or an error's kind)
        self.webhooks = {}  # wamid -> list of answers
        self.operators = {}  # login -> requests.Session
        self.answered_sessions = set()
        self.to_close = []  # (login, session id) answered, closed at the next round
        self.guests = {}  # anonymous name -> the guest id its cookie holds
        self.tokens = {}  # token -> session id (the answers written to WhatsApp customers)
        self.expired = 0  # operators' calls refused as logged out
        self.customer_ids = itertools.count(1)
        self.retry_after = set()  # the Retry-After headers the webhook was answered with

    def record(self, kind):
        with self.lock:
            self.calls[self.phase][kind] += 1
        return kind

    def call(self, http, method, route, **kwargs):
        """One HTTP call: ``(kind, response)``, kind ``200``, an HTTP status, ``json:<error>``,
        ``refused``, ``reset`` or ``timeout``."""
        try:
            response = getattr(http, method)(f"{self.base}{route}", timeout=CALL_TIMEOUT, **kwargs)
        except requests.Timeout:
            return self.record("timeout"), None
        except requests.ConnectionError as error:
            kind = "refused" if "refused" in str(error).lower() else "reset"
            return self.record(kind), None
        if response.status_code != 200:
            return self.record(str(response.status_code)), response
        if "json" in kwargs:
            try:
                data = response.json()
            except ValueError:
                return self.record("json:unreadable"), response
            if "error" in data:
                name = data["error"].get("data", {}).get("name", "?").rsplit(".", 1)[-1]
                if name == "SessionExpiredException":
                    self.expired += 1
                return self.record(f"json:{name}"), response
        return self.record("200"), response

    def rpc(self, http, route, params):
        return self.call(http, "post", route, json={"jsonrpc": "2.0", "method": "call", "params": params})

    def visitor(self, name):
        """A web visitor: opens a session (once again if that fails, with the same cookies), writes."""
        http = requests.Session()
        answers = []
        for attempt in range(2):
            kind, response = self.rpc(
                http, "/im_livechat/get_session", {"channel_id": self.channel_id, "anonymous_name": name}
            )
            answers.append(kind)
            if kind == "200":
                break
            time.sleep(0.5 + attempt)
        # the guest this visitor's browser holds (the cookie of the answer it read)
        cookie = (http.cookies.get("dgid") or "").strip('"')
        guest = int(cookie.split("|")[0]) if cookie.split("|")[0].isdigit() else None
        with self.lock:
            self.visitors[name] = answers
            self.guests[name] = guest
        if answers[-1] == "200":
            session_id = response.json()["result"]["discuss.channel"][0]["id"]
            self.rpc(http, "/mail/message/post", post_params(session_id, f"Hello from {name}"))

    def whatsapp(self, wa_id, wamid, tries=3):
        """A WhatsApp customer's message, delivered again (as Meta does) until answered 200."""
        answers = []
        for attempt in range(tries):
            answers.append(self.webhook(wa_id, wamid))
            if answers[-1] == "200":
                break
            time.sleep(1 + attempt)
        with self.lock:
            self.webhooks.setdefault(wamid, []).extend(answers)

    def webhook(self, wa_id, wamid):
        body = json.dumps(
            {"object": "whatsapp_business_account", "entry": [{"id": "faults", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
                "contacts": [{"profile": {"name": f"Customer {wa_id}"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                              "type": "text", "text": {"body": f"question {wamid}"}}],
            }}]}]}
        ).encode()  # fmt: skip
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": whatsapp_signature(body, APP_SECRET),
        }
        kind, response = self.call(
            requests, "post", f"/livechat_groups/messenger/{WEBHOOK}", data=body, headers=headers
        )
        if response is not None and response.headers.get("Retry-After"):
            with self.lock:
                self.retry_after.add(response.headers["Retry-After"])
        return kind

    def login(self, db):
        for index in range(OPERATORS):
            http = requests.Session()
            jsonrpc(http, self.base, "/web/session/authenticate", {"db": db, "login": f"fop{index}", "password": f"fop{index}"})  # fmt: skip
            self.operators[f"fop{index}"] = http

    def answer_all(self):
        """Each operator closes the sessions they answered before (so that the invariants are
        checked with sessions held and waiting), then answers the sessions they hold now."""
        with self.lock:
            closing, self.to_close = self.to_close, []

        def close(item):
            login, session_id = item
            self.rpc(self.operators[login], "/web/dataset/call_kw/discuss.channel/action_livechat_close",
                     {"model": "discuss.channel", "method": "action_livechat_close",
                      "args": [[session_id]], "kwargs": {}})  # fmt: skip

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(close, closing))
        rows = sql_retried(
            DB,
            "select c.id, u.login, coalesce(c.livechat_messenger_chat_id, '') from discuss_channel c"
            " join res_users u on u.partner_id = c.livechat_operator_id"
            f" where c.livechat_channel_id = {self.channel_id} and c.livechat_routing_state = 'assigned'"
            " order by c.id",
        )
        todo = defaultdict(list)
        for line in rows.splitlines():
            session_id, login, chat = line.split("|")
            if int(session_id) not in self.answered_sessions:
                todo[login].append((int(session_id), chat))

        def answer(login):
            http = self.operators[login]
            for session_id, chat in todo[login]:
                token = f"ans-{uuid.uuid4().hex[:12]}"
                self.rpc(http, "/mail/message/post", post_params(session_id, f"Answer {token}"))
                with self.lock:
                    self.answered_sessions.add(session_id)
                    self.to_close.append((login, session_id))
                    if chat:
                        self.tokens[token] = (session_id, self.phase)

        with ThreadPoolExecutor(max(1, len(todo))) as pool:
            list(pool.map(answer, list(todo)))
        return sum(len(sessions) for sessions in todo.values())

    def burst(self, tag, visitors=4, customers=3):
        """Visitors and WhatsApp customers at once (4 at a time), then the operators answer."""
        jobs = [lambda i=i: self.visitor(f"fv-{tag}-{i}") for i in range(visitors)]
        jobs += [
            lambda i=i: self.whatsapp(f"1555{next(self.customer_ids):07d}", f"wamid.fault.{tag}.{i}")
            for i in range(customers)
        ]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda job: job(), jobs))
        return self.answer_all()


def post_params(session_id, body):
    return {
        "thread_model": "discuss.channel",
        "thread_id": session_id,
        "post_data": {"body": body, "message_type": "comment", "subtype_xmlid": "mail.mt_comment"},
    }


# ------------------------------------------------------------
# What must hold
# ------------------------------------------------------------

STATE_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3}


def moved_back(old, new, old_code=None):
    """Whether an outbox row's state going from ``old`` to ``new`` went backwards: nothing
    follows "failed" (but WhatsApp's word that a message failed as "may not have reached the
    customer" did reach them), which follows no delivery; "queued" and "sending" are both "not
    sent yet"."""
    if old == "failed":
        return not (old_code == "uncertain" and new in ("sent", "delivered", "read"))
    if new == "failed":
        return old in ("delivered", "read")
    return STATE_RANK.get(new, 0) < STATE_RANK.get(old, 0)


class OutboxSampler(threading.Thread):
    """Reads the outbox's states every 0.2 s (reconnecting while the cluster restarts) and
    notes every state that moved backwards."""

    def __init__(self):
        super().__init__(daemon=True)
        self.last, self.backwards, self.samples = {}, [], 0
        self._stop_event = threading.Event()

    def run(self):
        import psycopg2

        connection = None
        while not self._stop_event.wait(0.2):
            try:
                if connection is None:
                    connection = psycopg2.connect(dbname=DB)
                    connection.autocommit = True
                with connection.cursor() as cr:
                    cr.execute(
                        "SELECT 1 FROM information_schema.columns"
                        " WHERE table_name = 'livechat_messenger_message' AND column_name = 'failure_code'"
                    )
                    code = "failure_code" if cr.fetchone() else "NULL"
                    # the column's name comes from the catalogue just read
                    cr.execute(
                        f"SELECT id, state, {code} FROM livechat_messenger_message WHERE direction = 'out'"
                    )
                    self.observe(cr.fetchall())
            except psycopg2.Error:
                connection = None

    def observe(self, rows):
        self.samples += 1
        for row_id, state, code in rows:
            old, old_code = self.last.get(row_id, (None, None))
            self.last[row_id] = (state, code)
            if old is not None and old != state and moved_back(old, state, old_code):
                self.backwards.append((row_id, old, state))

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)


def invariants(load):
    """The routing's invariants, in SQL: ``[(name, ok, detail)]``."""
    channel = load.channel_id
    sessions = Counter()
    for line in sql(
        DB,
        f"select anonymous_name, count(*) from discuss_channel where livechat_channel_id = {channel}"
        " and anonymous_name like 'fv-%' group by 1",
    ).splitlines():
        name, count = line.split("|")
        sessions[name] = int(count)
    with load.lock:
        visitors = dict(load.visitors)
        guests = dict(load.guests)
        webhooks = {wamid: list(answers) for wamid, answers in load.webhooks.items()}
    # a visitor's sessions: those of the guest their browser holds (a request whose answer was
    # lost may have made a session for a guest nobody holds: an orphan, counted apart)
    held = Counter()
    known = [guest for guest in guests.values() if guest]
    if known:
        for line in sql(
            DB,
            "select m.guest_id, count(distinct m.channel_id) from discuss_channel_member m"
            f" join discuss_channel c on c.id = m.channel_id where c.livechat_channel_id = {channel}"
            f" and m.guest_id in ({', '.join(map(str, known))}) group by 1",
        ).splitlines():
            guest, count = line.split("|")
            held[int(guest)] = int(count)
    answered = [name for name, answers in visitors.items() if "200" in answers]
    wrong = {name: held[guests.get(name)] for name in answered if held[guests.get(name)] != 1}
    orphans = sum(sessions.values()) - sum(held[guests[name]] for name in visitors if guests.get(name))
    lost_answers = sum(1 for answers in visitors.values() for kind in answers if kind != "200")
    busiest = int(
        sql(
            DB,
            "select coalesce(max(n), 0) from (select count(*) n from discuss_channel"
            f" where livechat_channel_id = {channel} and livechat_routing_state = 'assigned'"
            " group by livechat_operator_id) t",
        )
    )
    doubled = sql(
        DB,
        "select count(*) from (select m.channel_id from discuss_channel_member m"
        " join res_users u on u.partner_id = m.partner_id join discuss_channel c on c.id = m.channel_id"
        f" where c.livechat_channel_id = {channel} and u.login like 'fop%' group by 1 having count(*) > 1) t",
    )
    waiting, astray = sql(
        DB,
        "select count(*), count(*) filter (where g.id is null or not g.active) from discuss_channel c"
        " left join livechat_group g on g.id = c.livechat_group_id"
        f" where c.livechat_channel_id = {channel} and c.livechat_routing_state = 'queued'",
    ).split("|")
    # the webhook keeps a delivery and answers; the scheduler processes it right after: what
    # was answered 200 is checked once processed (a delivery left failed counts as not stored)
    for _ in range(240):
        if sql(DB, "select count(*) from livechat_messenger_delivery where state = 'pending'") == "0":
            break
        time.sleep(0.5)
    stored = Counter()
    for line in sql(
        DB,
        "select external_id, count(*) from livechat_messenger_message"
        " where direction = 'in' and external_id like 'wamid.fault.%' group by 1",
    ).splitlines():
        wamid, count = line.split("|")
        stored[wamid] = int(count)
    took = [wamid for wamid, answers in webhooks.items() if "200" in answers]
    not_once = {wamid: stored[wamid] for wamid in took if stored[wamid] != 1}
    return [
        (
            "every visitor answered 200 has exactly one session",
            not wrong,
            f"{len(answered)} answered, wrong: {dict(list(wrong.items())[:5])}",
        ),
        (
            "a session nobody holds only where an answer was lost (at most one each)",
            orphans <= lost_answers,
            f"sessions made for a guest whose answer was lost: {orphans}, answers not 200: {lost_answers}",
        ),
        (f"no operator above {CAPACITY} sessions", busiest <= CAPACITY, f"busiest holds {busiest}"),
        ("no session with two operators", doubled == "0", f"sessions with two: {doubled}"),
        (
            "every waiting session in an active group's queue",
            astray == "0",
            f"waiting {waiting}, astray {astray}",
        ),
        (
            "every webhook answered 200 stored once",
            not not_once,
            f"{len(took)} answered 200, wrong: {dict(list(not_once.items())[:5])};"
            f" stored though never answered 200: {sum(1 for w in webhooks if w not in took and stored[w])}",
        ),
    ]


def outbox(load, standin):
    """The answers to WhatsApp customers: ``(rows, duplicates, lost, pending, failed)`` where
    rows maps a token to ``(state, reason, next attempt due)``."""
    rows = {}
    # a send whose outcome is unknown stays "sending" (since sending_date, where the outbox has
    # it) until WhatsApp's status tells, or its wait ends: waiting, not lost, within that wait
    uncertain = (
        f"coalesce(r.sending_date > now() at time zone 'UTC' - interval '{UNSURE_WAIT}', false)"
        if has_column("sending_date")
        else "false"
    )
    for line in sql(
        DB,
        "select substring(m.body from 'ans-[0-9a-f]{12}'), r.state, coalesce(r.failure_reason, ''),"
        f" coalesce(r.next_attempt_date > now() at time zone 'UTC', false), {uncertain}"
        " from livechat_messenger_message r join mail_message m on m.id = r.message_id"
        " where r.direction = 'out' and m.body like '%ans-%'",
    ).splitlines():
        token, state, reason, later, unsure = line.split("|", 4)
        rows[token] = (state, reason, later == "t" or (state == "sending" and unsure == "t"))
    accepted = Counter(standin.accepted())
    duplicates = sum(count - 1 for token, count in accepted.items() if token in rows and count > 1)
    lost, pending, failed = [], [], []
    for token, (state, reason, waiting) in rows.items():
        if accepted[token]:
            continue
        if state == "failed" and reason:
            failed.append(token)
        elif (state == "queued" and waiting and reason) or (state == "sending" and waiting):
            pending.append(token)
        else:
            lost.append((token, state))
    return rows, duplicates, lost, pending, failed


# ------------------------------------------------------------
# The phases
# ------------------------------------------------------------


def wait_for(predicate, timeout, period=0.1):
    """Poll ``predicate`` until true; return the seconds it took, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except Exception:  # pylint: disable=broad-except - a probe during a fault may fail any way
            pass
        time.sleep(period)
    return None


def tried(load, phase):
    """Whether every answer the operators wrote in ``phase`` went through the outbox once."""
    tokens = [token for token, (_session, written) in load.tokens.items() if written == phase]
    if not tokens:
        return True
    waiting = sql(
        DB,
        "select count(*) from livechat_messenger_message r join mail_message m on m.id = r.message_id"
        " where r.direction = 'out' and r.attempt_count = 0 and r.state in ('queued', 'sending')"
        f" and substring(m.body from 'ans-[0-9a-f]{{12}}') in ({', '.join(repr(t) for t in tokens)})",
    )
    return waiting == "0"


def status_of(url):
    """The HTTP status a monitor would read at ``url`` (not counted in the load)."""
    try:
        return str(requests.get(url, timeout=CALL_TIMEOUT).status_code)
    except requests.RequestException as error:
        return type(error).__name__


def sql_retried(db, query, timeout=60):
    """``sql`` that waits (bounded) for the cluster while a fault restarts it."""
    started = time.monotonic()
    while True:
        try:
            return sql(db, query)
        except subprocess.CalledProcessError:
            if time.monotonic() - started > timeout:
                raise
            time.sleep(0.5)


def in_background(fn):
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


class Check:
    def __init__(self):
        self.results = []  # (name, ok, detail)
        self.table = []  # (phase, fault, recovery)
        self.tried = []

    def add(self, phase, results):
        self.results += [(f"[{phase}] {name}", ok, detail) for name, ok, detail in results]


def run(master_pid, base, load, standin, check):
    def probe():
        kind, _ = load.rpc(load.operators["fop0"], "/web/session/get_session_info", {})
        return kind == "200"

    def phase(name, fault):
        load.phase = name
        check.tried.append(name)
        print(f"phase {name}: {fault}", flush=True)

    def after(name, fault, recovery, restored=None):
        check.table.append((name, fault, recovery, restored))
        check.add(name, invariants(load))

    # 0. no fault: the load alone
    phase("baseline", "none")
    load.burst("base")
    after("baseline", "none", None)

    with load.lock:
        base_hooks = [answers for wamid, answers in load.webhooks.items() if ".base." in wamid]
    check.results.append(
        (
            "[baseline] every webhook is answered 200 at once (the addon's route, not the outage's)",
            bool(base_hooks) and all(answers == ["200"] for answers in base_hooks),
            f"answers {base_hooks}",
        )
    )

    # 1. HTTP workers SIGKILLed mid-burst
    phase("workers", "2 then 1 HTTP workers SIGKILLed mid-burst")
    burst = in_background(lambda: load.burst("kill", visitors=6, customers=4))
    time.sleep(0.6)
    killed = [pid for pid in children(master_pid)["http"][:2] if kill(pid)]
    started = time.monotonic()
    time.sleep(0.4)
    killed += [pid for pid in children(master_pid)["http"][:1] if kill(pid)]
    back = wait_for(lambda: len(children(master_pid)["http"]) >= WORKERS and probe(), 60)
    recovery = None if back is None else time.monotonic() - started
    burst.join(timeout=180)
    after("workers", f"{len(killed)} workers killed", recovery)

    # 2. the cluster restarted mid-burst
    phase("pg-restart", "PostgreSQL restarted mid-burst")
    burst = in_background(lambda: load.burst("pgrestart", visitors=6, customers=4))
    time.sleep(0.8)
    started = time.monotonic()
    pg_ctl("-m", "fast", "restart")
    back = wait_for(probe, 60)
    recovery = None if back is None else time.monotonic() - started
    burst.join(timeout=180)
    check.results.append(
        (
            "[pg-restart] operators stay logged in",
            load.expired == 0,
            f"calls refused as logged out: {load.expired}",
        )
    )
    after("pg-restart", "pg_ctl restart -m fast", recovery)

    # 3. webhooks while the cluster is down, then delivered again
    phase("db-down", "webhooks while PostgreSQL is stopped")
    pg_ctl("-m", "fast", "stop")
    down = []
    for i in range(4):
        down.append(load.webhook("1555020000" + str(i), f"wamid.fault.down.{i}"))
    health = status_of(f"{base}/web/health?db_server_status=1")
    plain_health = status_of(f"{base}/web/health")
    started = time.monotonic()
    pg_ctl("start")
    with load.lock:
        for i, kind in enumerate(down):
            load.webhooks[f"wamid.fault.down.{i}"] = [kind]
    back = wait_for(probe, 60)
    for i in range(4):  # the provider delivers again
        load.whatsapp("1555020000" + str(i), f"wamid.fault.down.{i}")
    recovery = None if back is None else time.monotonic() - started
    after_health = status_of(f"{base}/web/health?db_server_status=1")
    load.answer_all()
    expected = "503" if OUTAGE_MODULE else "404"
    check.results += [
        (
            f"[db-down] a webhook is answered {expected} while the database is down (the provider retries)"
            + (", with Retry-After" if OUTAGE_MODULE else ", Odoo's answer without livechat_groups_outage"),
            set(down) == {expected} and (bool(load.retry_after) == OUTAGE_MODULE),
            f"answers {Counter(down)}, Retry-After {sorted(load.retry_after)}",
        ),
        (
            "[db-down] /web/health?db_server_status=1 answers 500 while down, 200 once back",
            (health, after_health) == ("500", "200"),
            f"down {health}, back {after_health}; /web/health alone while down: {plain_health}",
        ),
    ]
    after("db-down", f"{len(down)} webhooks during the outage, then redelivered", recovery)

    # 4-7. the provider fails; how long its answers took to reach the customer once it is back
    # is read from the stand-in's log at the end (the outbox tries again after 30 s)
    for name, fault, mode, count in (
        ("api-500", "the stand-in answers 500", "500", None),
        ("api-refused", "the stand-in refuses connections", "refuse", None),
        ("api-hang", f"the stand-in hangs {HANG:.0f} s (timeout {ADDON_TIMEOUT} s)", "hang", 1),
        ("api-late", f"the stand-in accepts after {LATE:.1f} s (timeout {ADDON_TIMEOUT} s)", "late", 2),
    ):
        phase(name, fault)
        if mode == "refuse":
            standin.refuse()
        else:
            standin.fault(mode, count)
        load.burst(name.replace("-", ""), visitors=2, customers=3)
        if count is None:  # every answer of this phase meets the fault once (bounded)
            wait_for(lambda name=name: tried(load, name), 30, period=0.5)
            if mode == "refuse":
                standin.resume()
            standin.fault("ok")
        else:  # the faulty sends happened (bounded: the send job may be slow to come)
            outcome = {"hang": "hung", "late": "accepted-late"}[mode]
            wait_for(lambda outcome=outcome, count=count: standin.count(outcome) >= count, HANG * count + 30)
            standin.fault("ok")
        after(name, fault, None, restored=time.monotonic())

    # 8. the cron worker killed in the middle of the outbox's batch, twice: a slow provider keeps
    # the first send busy while the operators answer, so that the next batch holds the rest
    phase("cron-kill", "the cron worker SIGKILLed mid-batch, twice")
    standin.fault("slow")
    kills, killed_at = 0, None
    mark = time.monotonic()
    for burst in ("cronkill", "cronkill2"):
        # new answers wake the (new) cron worker: Odoo's cron worker sleeps first when it starts
        load.burst(burst, visitors=0, customers=7)
        if wait_for(lambda mark=mark: len(standin.accepted(since=mark)) >= 3, 60) is None:
            break
        found = children(master_pid)["cron"]
        kills += sum(kill(pid) for pid in found)
        killed_at = mark = time.monotonic()
        wait_for(lambda found=found: children(master_pid)["cron"] not in ([], found), 30)
    after("cron-kill", f"{kills} cron worker kills mid-batch", None, restored=killed_at)
    standin.fault("ok")
    return kills


def settle(timeout):
    """Wait until no answer is due in the outbox (its next tries within 40 s included, bounded);
    a send whose outcome is unknown waits for WhatsApp's status (UNCERTAIN_WAIT, where the
    outbox has ``sending_date``), so it is not due before."""
    unsure = (
        " and (state <> 'sending' or sending_date is null"
        f" or sending_date < now() at time zone 'UTC' - interval '{UNSURE_WAIT}')"
        if has_column("sending_date")
        else ""
    )
    due = (
        "select count(*) from livechat_messenger_message where direction = 'out'"
        " and state not in ('sent', 'delivered', 'read', 'failed')"
        " and (next_attempt_date is null or next_attempt_date <= now() at time zone 'UTC' + interval '40 seconds')"
        + unsure
    )
    return wait_for(lambda: sql(DB, due) == "0", timeout, period=1)


def has_column(column):
    """Whether the outbox has ``column`` (the outbox of issue 23 added ``sending_date``)."""
    return (
        sql(
            DB,
            "select count(*) from information_schema.columns"
            f" where table_name = 'livechat_messenger_message' and column_name = '{column}'",
        )
        == "1"
    )


def main():
    # a SIGTERM (CI's timeout, a ctrl-C's kin) still stops the server, the stand-in and the cluster
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))
    if sys.argv[1:] == ["--stop"]:
        cluster_stop()
        return 0
    cluster_start()
    try:
        build_database()
        return faults()
    finally:
        if not os.environ.get("FAULTS_KEEP"):
            cluster_stop()


def faults():
    channel_id = int(
        sql(DB, "select value from ir_config_parameter where key='livechat_groups.faults_channel_id'")
    )
    base = f"http://127.0.0.1:{PORT}"
    standin = FaultyStandIn(STANDIN_PORT).start()
    standin.webhook_url = f"{base}/livechat_groups/messenger/{WEBHOOK}"
    check = Check()
    sampler = OutboxSampler()
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(prefix="odoo-faults-", suffix=".log", delete=False) as log:
        server = harness.start_server(
            DB, PORT, WORKERS, log,
            extra=("--max-cron-threads=1", f"--db_host={PG_SOCKET}", f"--db_port={PG_PORT}",
                   "--limit-time-real-cron=120",
                   *(["--load=base,web,livechat_groups_outage"] if OUTAGE_MODULE else [])),
        )  # fmt: skip
        try:
            harness.wait_until_up(base, log.name)
            load = Load(base, channel_id)
            load.login(DB)
            sampler.start()
            kills = run(server.pid, base, load, standin, check)
            load.phase = "settle"
            settled = settle(SETTLE_TIMEOUT)
            check.add("end", invariants(load))
        finally:
            sampler.stop()
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
            standin.stop()
    rows, duplicates, lost, pending, failed = outbox(load, standin)
    late = sum(1 for _at, token, outcome in standin.sends if outcome == "accepted-late" and token in rows)
    accepted = Counter(standin.accepted())
    check.results += [
        (
            "[end] the outbox settles (no answer left due)",
            settled is not None,
            f"in {settled:.1f} s" if settled is not None else f"not within {SETTLE_TIMEOUT} s",
        ),
        (
            "[end] no outbox state moved backwards",
            not sampler.backwards,
            f"{sampler.samples} samples; backwards: {sampler.backwards[:5]}",
        ),
        (
            "[end] every answer reached the customer, or is failed / waiting with a reason",
            not lost and len(rows) == len(load.tokens),
            f"{len(rows)} answers in the outbox ({len(load.tokens)} written), "
            f"{sum(1 for t in rows if accepted[t])} received, {len(failed)} failed, {len(pending)} waiting, "
            f"lost: {lost[:5]}",
        ),
        (
            "[end] no answer reaches the customer twice (the outbox's documented window: none)",
            duplicates == 0,
            f"{duplicates} extra copies received, of "
            f"{ {t: c for t, c in accepted.items() if c > 1 and t in rows} }"
            f" ({kills} cron workers killed mid-batch, {late} sends accepted after the timeout)",
        ),
    ]
    print_table(load, standin, check, rows, lost, time.monotonic() - started)
    if any(not ok for _, ok, _ in check.results) or os.environ.get("FAULTS_KEEP"):
        print(f"server log: {log.name}")
    else:
        os.unlink(log.name)
    return report(check.results)


def provider_recovery(standin, tokens, since, refused=False):
    """Seconds from ``since`` until every answer of ``tokens`` that met the fault (any send not
    plainly accepted; every one when the stand-in ``refused`` them, which it cannot log) was
    accepted again; None when one never was, "-" when none met it."""
    with standin._lock:
        sends = [send for send in standin.sends if send[1] in tokens]
    faulted = set(tokens) if refused else {token for _at, token, outcome in sends if outcome != "accepted"}
    if not faulted:
        return "-"
    times = []
    for token in faulted:
        again = [at for at, sent, outcome in sends if sent == token and outcome == "accepted" and at >= since]
        if not again:
            return None
        times.append(min(again) - since)
    return max(times)


def print_table(load, standin, check, rows, lost, elapsed):
    accepted = Counter(standin.accepted())
    print()
    print(
        f"{'phase':<11} {'fault':<44} {'requests':>8} {'answered':>8} {'sends':>5} {'dup':>3} {'lost':>4}"
        f" {'recovery':>8}  errors by kind"
    )
    lost_tokens = {token for token, _state in lost}
    for phase, fault, recovery, restored in check.table:
        calls = load.calls[phase]
        tokens = {token for token, (_session, written) in load.tokens.items() if written == phase}
        if restored is not None:
            recovery = provider_recovery(standin, tokens, restored, refused=phase == "api-refused")
            if phase in ("api-hang", "api-late", "cron-kill"):
                # the outbox goes on: the first answer sent after the fault (a send that may have
                # reached the customer is not sent again: it waits for WhatsApp's status)
                later = [
                    at for at, _token, outcome in standin.sends if outcome == "accepted" and at >= restored
                ]
                recovery = min(later) - restored if later else None
        shown = recovery if isinstance(recovery, str) else "NONE" if recovery is None else f"{recovery:.2f} s"
        if phase == "baseline":
            shown = "-"
        errors = ", ".join(f"{kind} {count}" for kind, count in sorted(calls.items()) if kind != "200")
        sends = sum(1 for _at, token, _outcome in standin.sends if token in tokens)
        dup = sum(accepted[token] - 1 for token in tokens if accepted[token] > 1)
        print(
            f"{phase:<11} {fault[:44]:<44} {sum(calls.values()):>8} {calls['200']:>8} {sends:>5} {dup:>3}"
            f" {len(tokens & lost_tokens):>4} {shown:>8}  {errors or '-'}"
        )
    outcomes = Counter(outcome for _at, _token, outcome in standin.sends)
    print(
        f"outbox: {len(rows)} answers to WhatsApp customers; the stand-in's sends by outcome: {dict(outcomes)};"
        f" its 'sent' statuses answered: {dict(standin.statuses)}; total {elapsed:.0f} s"
    )
    print()


def report(results):
    failed = sum(not ok for _, ok, _ in results)
    for name, ok, detail in results:
        print(f"check {'ok    ' if ok else 'FAILED'} {name}{'  (' + detail + ')' if detail else ''}")
    print(f"checks: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
