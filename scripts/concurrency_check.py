"""Concurrency proof against a real multi-worker Odoo server (run by scripts/test.sh).

Odoo's test runner serves HTTP from one thread inside one transaction, so it cannot show
what several workers do at once. This script builds its own database, starts Odoo with
several workers on loopback, and checks two races:

1. N simultaneous visitors call /im_livechat/get_session on a live chat whose operators can
   hold C sessions in all: exactly C sessions are assigned, N - C wait, none is lost or
   duplicated, and no operator holds more than the live chat allows.
2. Several operators take the same waiting session at the same instant: exactly one wins,
   the others are told it is no longer waiting, and the session has one operator.
3. Its operator forwards that session to a colleague while an administrator assigns it to
   another, at the same instant: the two are serialized, every call that succeeded wrote one
   hop, and the session ends with the operator of the last hop.
4. An employee starts the internal live chat twice at once (a double click) while nobody can
   answer: one session only, which both calls return.
5. The same WhatsApp webhook delivered to two workers at once: kept once, then one message once
   two runs of the deliveries' processing ran at once; and two new messages of one new customer
   at once: one session, one contact, both messages.
6. The timers' no-answer job runs in two workers at the same instant over sessions whose
   operators let them lapse: each lapsed session is reassigned once, never twice.
7. Two routings at once claim two operators: the second passes over the operator the first is
   handing a session to, without waiting for it; a routing that began before a colleague got a
   session passes over that colleague, without failing; and when every operator is being
   claimed by other routings, the visitor waits and is served as soon as the routing's
   transaction is committed (see ``livechat.routing._rank_operators``).
8. Two requests close sessions alike (one key of the Group Figures' rollup) at once, in two
   rounds (the key new, then existing): the second neither waits for the first nor fails to
   serialize, and the rollup then counts every closed session (see
   ``livechat.session.report._livechat_rollup_sums``).

9. An operator's Discuss changes their membership of a session (a message read) while the
   no-answer job, which began before, hands that session back among others: that session is
   left to the next run, the others are handed back, and the job does not fail; the next run
   hands it back once.

Usage: python scripts/concurrency_check.py (environment: ODOO_SRC, ADDONS_PATH, PORT, DB).
Prints one line per check and "checks: N passed, N failed"; exits 1 when any check fails.
scripts/two_servers_check.py runs the same races through two servers on one database.
"""

import os
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from livechat_groups_tools import harness
from livechat_groups_tools.harness import at_once, jsonrpc, odoo, sql

DB = os.environ.get("DB", "livechat_groups_concurrency")
# When set, a copy of the database as built, before any race, which two_servers_check.py reuses.
TEMPLATE_DB = os.environ.get("CONCURRENCY_TEMPLATE_DB")
PORT = int(os.environ.get("PORT", "8269"))
WORKERS = int(os.environ.get("WORKERS", "4"))
OPERATORS = 5
CAPACITY = 2  # per operator: 10 in all
VISITORS = 30
TAKERS = 5
APP_SECRET = "race-secret"
LAPSED = 20  # sessions whose operator did not answer in time, for check 6

# check 6: sessions whose answer is overdue, held by two of the racers, on a live chat of their own
LAPSE_SETUP = f"""
from datetime import timedelta
from odoo import Command, fields
racers = env["res.users"].search([("login", "=like", "racer%")], order="id")
group = env["livechat.group"].create({{"name": "Lapsers", "user_ids": [Command.set(racers.ids)]}})
livechat = env["im_livechat.channel"].create({{
    "name": "Race Timeout Live Chat", "user_ids": [Command.clear()], "answer_timeout_minutes": 1,
    "entry_group_ids": [Command.set(group.ids)],
}})
for i in range({LAPSED}):
    env["discuss.channel"].create(livechat._get_livechat_discuss_channel_vals(f"Lapsed {{i}}"))
env.flush_all()
env.cr.execute(
    "UPDATE discuss_channel SET livechat_answer_due = %s WHERE livechat_channel_id = %s",
    (fields.Datetime.now() - timedelta(minutes=1), livechat.id),
)
env["ir.config_parameter"].set_param("livechat_groups.race_lapse_channel_id", livechat.id)
env.cr.commit()
"""

# the no-answer timer alone (the first of the timers' list), in the shell's transaction
ANSWER_TIMER = """
from odoo import fields
_timers = env["livechat.timers"]
_condition, _action = _timers._livechat_timer_list(fields.Datetime.now())[0]
_timers._livechat_timer_run(_condition, _action)
"""

# one worker of check 6: ready, wait for the other, then run the no-answer timer at once
LAPSE_WORKER = (
    """
import os, time
open(os.path.join(BARRIER, f"ready{INDEX}"), "w").close()
while len(os.listdir(BARRIER)) < 2:
    time.sleep(0.001)
env.cr.rollback()  # a fresh snapshot, taken now
{ANSWER_TIMER}env.cr.commit()
print("WORKER DONE")
"""
).replace("{ANSWER_TIMER}", ANSWER_TIMER)


def online_desk(login, group, livechat, **values):
    """Shell code of checks 7 and 9: three operators online (``<login>0`` to ``<login>2``, their
    settings made), their group and a live chat of their own routing to it, as ``users``,
    ``group`` and ``livechat``, with the live chat's other ``values``."""
    return f"""
from odoo import Command
users = env["res.users"].create([
    {{"name": f"{login.title()} {{i}}", "login": f"{login}{{i}}", "groups_id": [Command.link(env.ref("base.group_user").id)]}}
    for i in range(3)
])
for user in users:
    env["bus.presence"].create({{"user_id": user.id, "status": "online"}})
    env["res.users.settings"]._find_or_create_for_user(user)
group = env["livechat.group"].create({{"name": {group!r}, "user_ids": [Command.set(users.ids)]}})
livechat = env["im_livechat.channel"].create({{
    "name": {livechat!r}, "user_ids": [Command.clear()], "entry_group_ids": [Command.set(group.ids)], **{values!r},
}})
"""


# check 7: three operators of a live chat of their own; two cursors route at once
CLAIM_CHECK = (
    online_desk("claimer", "Claimers", "Claim Live Chat")
    + """
from odoo import SUPERUSER_ID, api, fields
env.cr.commit()

def route(cr):
    channel = api.Environment(cr, SUPERUSER_ID, {})["im_livechat.channel"].browse(livechat.id)
    return channel.env["livechat.routing"]._decide(channel, channel._entry_group_ids())[0]

def login(cr):
    try:
        return route(cr).login
    except Exception as error:
        return type(error).__name__

# a routing in flight: the other one takes the next operator instead of waiting (or failing)
with env.registry.cursor() as first_cr, env.registry.cursor() as second_cr:
    second_cr.execute("SET LOCAL lock_timeout = '5s'")
    print("IN_FLIGHT", login(first_cr), login(second_cr))
# a colleague got a session after this routing began: it is passed over, no error
with env.registry.cursor() as late_cr:
    late_cr.execute("SELECT 1")  # the late routing's snapshot starts here
    with env.registry.cursor() as first_cr:
        first = route(first_cr)
        given = first.login
        settings = api.Environment(first_cr, SUPERUSER_ID, {})["res.users.settings"]
        settings._find_or_create_for_user(first).livechat_last_assigned_date = fields.Datetime.now()
    print("LATE", given, login(late_cr))
# every operator is being given a session by another routing: the visitor waits, and is served
# as soon as this routing's transaction is committed
with env.registry.cursor() as busy_cr, env.registry.cursor() as visitor_cr:
    busy_cr.execute("SELECT 1 FROM res_users_settings WHERE user_id IN %s FOR NO KEY UPDATE", (tuple(users.ids),))
    visitor_cr.execute("SET LOCAL lock_timeout = '5s'")  # waiting for the busy routings would block here
    channel = api.Environment(visitor_cr, SUPERUSER_ID, {})["im_livechat.channel"].browse(livechat.id)
    session = channel.env["discuss.channel"].create(channel._get_livechat_discuss_channel_vals("Burst"))
    waited = session.livechat_routing_state
    session_id = session.id
    busy_cr.rollback()  # the other routings are done: they gave nobody a session after all
    visitor_cr.commit()
with env.registry.cursor() as check_cr:
    check_cr.execute("SELECT livechat_routing_state FROM discuss_channel WHERE id = %s", (session_id,))
    print("ALL_CLAIMED", waited, check_cr.fetchone()[0])
"""
)

ROLLUP_CHECK = """
from odoo import SUPERUSER_ID, Command, api
closer = env["res.users"].create({
    "name": "Closer", "login": "closer", "groups_id": [Command.link(env.ref("base.group_user").id)],
})
group = env["livechat.group"].create({"name": "Closers", "user_ids": [Command.set(closer.ids)]})
livechat = env["im_livechat.channel"].create({
    "name": "Close Live Chat", "user_ids": [Command.clear()], "routing_mode": "manual",
    "entry_group_ids": [Command.set(group.ids)],
})
# four sessions alike, held by one operator: closed, they share one key of the rollup
sessions = env["discuss.channel"].create([{
    "name": f"Leaver {i}", "channel_type": "livechat", "livechat_channel_id": livechat.id,
    "livechat_active": True, "livechat_visitor_name": f"Leaver {i}", "livechat_group_id": group.id,
    "livechat_routing_state": "assigned", "livechat_operator_id": closer.partner_id.id,
    "channel_member_ids": [Command.create({"partner_id": closer.partner_id.id})],
} for i in range(4)])
env.cr.commit()

def close(cr, session_id):
    api.Environment(cr, SUPERUSER_ID, {})["discuss.channel"].browse(session_id).action_livechat_close()
    cr.flush()  # the facts' refresh, hence the rollup's trigger, as before a commit

for first, second in ((sessions[0].id, sessions[1].id), (sessions[2].id, sessions[3].id)):
    with env.registry.cursor() as first_cr, env.registry.cursor() as second_cr:
        second_cr.execute("SELECT 1")  # the second request's snapshot starts before the first commits
        second_cr.execute("SET LOCAL lock_timeout = '3s'")
        close(first_cr, first)
        try:
            close(second_cr, second)
            first_cr.commit()
            second_cr.commit()
            print("CLOSE", "both")
        except Exception as error:
            second_cr.rollback()
            print("CLOSE", type(error).__name__)
with env.registry.cursor() as cr:
    cr.execute("SELECT SUM(sessions) FROM livechat_session_report_rollup WHERE livechat_channel_id = %s", [livechat.id])
    summed = cr.fetchone()[0]
    cr.execute("SELECT COUNT(*) FROM livechat_session_report_fact WHERE closed_date IS NOT NULL AND livechat_channel_id = %s", [livechat.id])
    print("ROLLUP", summed, cr.fetchone()[0])
"""

SETUP = f"""
from odoo import Command
users = env["res.users"].create([
    {{"name": f"Racer {{i}}", "login": f"racer{{i}}", "password": f"racer{{i}}",
      "groups_id": [Command.link(env.ref("base.group_user").id)]}}
    for i in range({OPERATORS})
])
group = env["livechat.group"].create({{"name": "Racers", "user_ids": [Command.set(users.ids)]}})
livechat = env["im_livechat.channel"].create({{
    "name": "Race Live Chat", "user_ids": [Command.clear()],
    "entry_group_ids": [Command.set(group.ids)], "max_sessions_per_operator": {CAPACITY},
}})
manual = env["im_livechat.channel"].create({{
    "name": "Race Manual Live Chat", "user_ids": [Command.clear()], "routing_mode": "manual",
    "entry_group_ids": [Command.set(group.ids)],
}})
for user in users:
    env["bus.presence"].create({{"user_id": user.id, "status": "online"}})
asker, helper = env["res.users"].create([
    {{"name": name, "login": name.lower(), "password": name.lower(),
      "groups_id": [Command.link(env.ref("base.group_user").id)]}}
    for name in ("Asker", "Helper")
])
internal = env["im_livechat.channel"].create({{
    "name": "Race Internal Live Chat", "user_ids": [Command.clear()], "audience": "internal",
    "requester_group_ids": [Command.create({{"name": "Askers", "user_ids": [Command.set(asker.ids)]}})],
    "entry_group_ids": [Command.create({{"name": "Helpers", "user_ids": [Command.set(helper.ids)]}})],
}})
env["livechat.messenger"].create({{
    "name": "Race WhatsApp", "livechat_channel_id": livechat.id, "app_secret": "{APP_SECRET}",
    "access_token": "race", "phone_number_id": "1", "webhook_token": "race-whatsapp",
    "api_base_url": "http://127.0.0.1:9/v21.0",
}})
env["ir.config_parameter"].set_param(
    "livechat_groups.race_channel_ids", f"{{livechat.id}},{{manual.id}},{{internal.id}}"
)
# The operator scripts/two_servers_check.py listens as, alone in their live chat.
listener = env["res.users"].create({{
    "name": "Listener", "login": "listener", "password": "listener",
    "groups_id": [Command.link(env.ref("base.group_user").id)],
}})
echo = env["im_livechat.channel"].create({{
    "name": "Echo Live Chat", "user_ids": [Command.clear()],
    "entry_group_ids": [Command.create({{"name": "Listeners", "user_ids": [Command.set(listener.ids)]}})],
}})
env["bus.presence"].create({{"user_id": listener.id, "status": "online"}})
env["ir.config_parameter"].set_param("livechat_groups.echo_channel_id", echo.id)
env.cr.commit()
"""


def whatsapp_webhook(base, wa_id, wamid, text):
    """Post one customer's message as Meta does, signed; return the HTTP status."""
    url = f"{base}/livechat_groups/messenger/race-whatsapp"
    return harness.post_whatsapp(
        requests, url, APP_SECRET, wa_id, wamid, text, f"Racer customer {wa_id}"
    ).status_code


PROCESS_DELIVERIES = """
import os, time
open(os.path.join(BARRIER, str(INDEX)), "w").close()
while len(os.listdir(BARRIER)) < 2:
    time.sleep(0.01)
env["livechat.messenger.delivery"]._cron_process(auto_commit=True)
env.cr.commit()
"""


def process_deliveries(db):
    """Run the scheduled action that processes the messengers' deliveries in two processes at
    once (the servers of the checks run no scheduler), until none is left to process."""
    for _round in range(5):
        with tempfile.TemporaryDirectory() as barrier:
            workers = [
                subprocess.Popen(
                    harness.odoo_command(db, "--log-level=warn", "--max-cron-threads=0", command=["shell"]),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )  # fmt: skip
                for _index in range(2)
            ]
            for index, worker in enumerate(workers):
                worker.stdin.write(f"BARRIER = {barrier!r}\nINDEX = {index}\n{PROCESS_DELIVERIES}")
                worker.stdin.close()
            for worker in workers:
                worker.wait(timeout=300)
        if sql(db, "select count(*) from livechat_messenger_delivery where state = 'pending'") == "0":
            return


def run_races(db, bases):
    """The four races; call ``i`` of each goes to ``bases[i % len(bases)]``.

    :return: ``(results, elapsed)``: a list of ``(name, ok, detail)`` and the seconds the
        simultaneous visitors took
    """

    def base(index):
        return bases[index % len(bases)]

    race_id, manual_id, internal_id = map(
        int,
        sql(db, "select value from ir_config_parameter where key='livechat_groups.race_channel_ids'").split(
            ","
        ),
    )
    results = []

    # 1. simultaneous visitors
    def visit(index):
        data = jsonrpc(requests.Session(), base(index), "/im_livechat/get_session",
                       {"channel_id": race_id, "anonymous_name": f"Visitor {index}"})  # fmt: skip
        if "error" in data:
            return ("error", data["error"]["data"]["name"])
        return ("ok", data["result"]["discuss.channel"][0]["id"])

    started = time.monotonic()
    answers = at_once(VISITORS, visit)
    elapsed = time.monotonic() - started
    session_ids = [value for status, value in answers if status == "ok"]
    states = dict(
        line.split("|")
        for line in sql(db, f"select livechat_routing_state, count(*) from discuss_channel where livechat_channel_id={race_id} group by 1").splitlines()
    )  # fmt: skip
    worst = sql(
        db,
        f"select coalesce(max(n), 0) from (select count(*) n from discuss_channel where livechat_channel_id={race_id}"
        " and livechat_routing_state='assigned' group by livechat_operator_id) t",
    )
    total = OPERATORS * CAPACITY
    results.append(
        (
            "every visitor got a session",
            len(session_ids) == VISITORS,
            f"{len(session_ids)}/{VISITORS} answered, errors: {[v for s, v in answers if s != 'ok']}",
        )
    )
    results.append(
        (
            "no session created twice",
            len(set(session_ids)) == VISITORS
            and sql(db, f"select count(*) from discuss_channel where livechat_channel_id={race_id}")
            == str(VISITORS),
            f"{len(set(session_ids))} distinct",
        )
    )
    results.append(
        (
            f"exactly {total} assigned, {VISITORS - total} waiting",
            states.get("assigned") == str(total) and states.get("queued") == str(VISITORS - total),
            f"states {states}",
        )
    )
    results.append((f"no operator above {CAPACITY}", int(worst) <= CAPACITY, f"busiest holds {worst}"))
    # a session that waited because every free operator was being claimed at that instant is
    # served right after the commit: a second "route" hop, to an operator, follows the one to
    # the queue. Never two of either kind: no visitor's request was routed twice.
    routed, doubled, served_later = sql(
        db,
        "select count(*), count(*) filter (where to_queue > 1 or to_operator > 1), "
        "count(*) filter (where to_queue = 1 and to_operator = 1) from ("
        "select t.session_id, count(*) filter (where t.to_user_id is null) as to_queue, "
        "count(*) filter (where t.to_user_id is not null) as to_operator from livechat_session_transfer t "
        f"join discuss_channel c on c.id=t.session_id where c.livechat_channel_id={race_id} and t.kind = 'route' "
        "group by t.session_id) hops",
    ).split("|")
    results.append(
        (
            "one route row per session",
            routed == str(VISITORS) and doubled == "0",
            f"sessions routed {routed}, routed twice the same way {doubled}, "
            f"served from the queue after the commit {served_later}",
        )
    )

    # 2. simultaneous takers of one waiting session; with several servers, each taker logs in on
    # one and takes on the next (the session is found on both)
    patient = jsonrpc(
        requests.Session(),
        base(0),
        "/im_livechat/get_session",
        {"channel_id": manual_id, "anonymous_name": "Patient"},
    )
    waiting = patient["result"]["discuss.channel"][0]["id"]
    takers = []
    for index in range(TAKERS):
        session = requests.Session()
        jsonrpc(
            session,
            base(index),
            "/web/session/authenticate",
            {"db": db, "login": f"racer{index}", "password": f"racer{index}"},
        )
        takers.append(session)

    def take(index):
        data = jsonrpc(takers[index], base(index + 1), "/web/dataset/call_kw/discuss.channel/action_livechat_take",
                       {"model": "discuss.channel", "method": "action_livechat_take", "args": [[waiting]], "kwargs": {}})  # fmt: skip
        return "won" if "result" in data else data["error"]["data"]["name"]

    outcomes = at_once(TAKERS, take)
    operators = sql(
        db,
        f"select count(*) from discuss_channel_member m join res_users u on u.partner_id=m.partner_id where m.channel_id={waiting} and u.login like 'racer%'",
    )
    takes = sql(
        db, f"select count(*) from livechat_session_transfer where session_id={waiting} and kind='take'"
    )
    results.append(
        (
            "one taker wins",
            outcomes.count("won") == 1
            and all(o == "odoo.exceptions.UserError" for o in outcomes if o != "won"),
            f"outcomes {outcomes}",
        )
    )
    results.append(
        (
            "the session has one operator and one take",
            operators == "1" and takes == "1",
            f"operators {operators}, take rows {takes}",
        )
    )

    # 3. a forward and an assignment of the same session at once
    winner = outcomes.index("won") if "won" in outcomes else 0
    forward_to, assign_to = [i for i in range(TAKERS) if i != winner][:2]
    admin = requests.Session()
    jsonrpc(admin, base(1), "/web/session/authenticate", {"db": db, "login": "admin", "password": "admin"})
    user_id = {i: int(sql(db, f"select id from res_users where login='racer{i}'")) for i in range(TAKERS)}
    group_id = int(sql(db, "select min(id) from livechat_group"))
    hops_before = int(sql(db, f"select count(*) from livechat_session_transfer where session_id={waiting}"))

    def steer(index):
        if index == 0:
            session, method, args = takers[winner], "action_livechat_forward", [[waiting], group_id]
            kwargs = {"user_id": user_id[forward_to]}
        else:
            session, method, args = admin, "action_livechat_assign", [[waiting], user_id[assign_to]]
            kwargs = {}
        data = jsonrpc(session, base(index), f"/web/dataset/call_kw/discuss.channel/{method}",
                       {"model": "discuss.channel", "method": method, "args": args, "kwargs": kwargs})  # fmt: skip
        return "won" if "result" in data else data["error"]["data"]["name"]

    steered = at_once(2, steer)
    hops = sql(db, f"select count(*) from livechat_session_transfer where session_id={waiting}")
    last_ok = sql(
        db,
        f"select c.livechat_operator_id = u.partner_id from discuss_channel c, livechat_session_transfer t"
        f" join res_users u on u.id = t.to_user_id where c.id={waiting} and t.session_id={waiting}"
        " order by t.id desc limit 1",
    )
    results.append(
        (
            "a forward and an assignment at once are serialized",
            steered.count("won") >= 1
            and int(hops) - hops_before == steered.count("won")
            and last_ok == "t"
            and all(o in ("won", "odoo.exceptions.AccessError") for o in steered),
            f"outcomes {steered}, new hops {int(hops) - hops_before}",
        )
    )

    # 4. a double click on an internal live chat
    asker = requests.Session()
    jsonrpc(asker, base(0), "/web/session/authenticate", {"db": db, "login": "asker", "password": "asker"})

    def ask(index):
        data = jsonrpc(asker, base(index), "/web/dataset/call_kw/im_livechat.channel/livechat_start_session",
                       {"model": "im_livechat.channel", "method": "livechat_start_session",
                        "args": [[internal_id]], "kwargs": {}})  # fmt: skip
        return (
            data["result"]["discuss.channel"][0]["id"] if "result" in data else data["error"]["data"]["name"]
        )

    asked = at_once(2, ask)
    opened = sql(db, f"select count(*) from discuss_channel where livechat_channel_id={internal_id}")
    results.append(
        (
            "a double click opens one internal session",
            opened == "1" and len(set(asked)) == 1 and all(isinstance(a, int) for a in asked),
            f"sessions {opened}, answers {asked}",
        )
    )

    # 5. one webhook delivered twice at once; two messages of a new customer at once. The
    # webhook keeps each delivery (once, by the provider's ids) and answers; the scheduled
    # action processes them: two of its runs at once, as the two lanes or two servers do
    statuses = at_once(2, lambda i: whatsapp_webhook(base(i), "15550001111", "wamid.race.same", "same body"))
    kept = sql(db, "select count(*) from livechat_messenger_delivery where chat_key = '15550001111'")
    results.append(
        (
            "the same webhook on two workers at once: kept once",
            statuses == [200, 200] and kept == "1",
            f"answers {statuses}, deliveries kept {kept}",
        )
    )
    process_deliveries(db)
    copies = sql(
        db,
        "select count(*) from mail_message m join discuss_channel c on c.id = m.res_id"
        " where m.model = 'discuss.channel' and c.livechat_messenger_chat_id = '15550001111'"
        " and m.message_type = 'comment'",
    )
    results.append(
        (
            "the same webhook on two workers at once: one message",
            statuses == [200, 200] and copies == "1",
            f"answers {statuses}, messages {copies}",
        )
    )
    statuses = at_once(
        2, lambda i: whatsapp_webhook(base(i), "15550002222", f"wamid.race.new{i}", f"message {i}")
    )
    process_deliveries(db)
    sessions = sql(
        db, "select count(*) from discuss_channel where livechat_messenger_chat_id = '15550002222'"
    )
    contacts = sql(db, "select count(*) from res_partner where name = 'Racer customer 15550002222'")
    messages = sql(
        db,
        "select count(*) from mail_message m join discuss_channel c on c.id = m.res_id"
        " where m.model = 'discuss.channel' and c.livechat_messenger_chat_id = '15550002222'"
        " and m.message_type = 'comment'",
    )
    results.append(
        (
            "two messages of a new customer at once: one session, one contact, both messages",
            statuses == [200, 200] and (sessions, contacts, messages) == ("1", "1", "2"),
            f"answers {statuses}, sessions {sessions}, contacts {contacts}, messages {messages}",
        )
    )
    return results, elapsed


def timer_race(db):
    """Check 6: the no-answer timer run by two processes at once (no HTTP server involved).

    :return: a list of ``(name, ok, detail)``
    """
    # 6. the no-answer timer in two workers at the same instant
    odoo(db, "--log-level=warn", command=["shell"], input=LAPSE_SETUP, text=True, capture_output=True)
    lapse_id = int(
        sql(db, "select value from ir_config_parameter where key='livechat_groups.race_lapse_channel_id'")
    )
    holders = sql(
        db, f"select id, livechat_operator_id from discuss_channel where livechat_channel_id={lapse_id}"
    )
    before = dict(line.split("|") for line in holders.splitlines())
    with tempfile.TemporaryDirectory() as barrier:
        workers = [
            subprocess.Popen(
                harness.odoo_command(db, "--log-level=warn", "--max-cron-threads=0", command=["shell"]),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for _index in range(2)
        ]
        for index, worker in enumerate(workers):
            worker.stdin.write(f"BARRIER = {barrier!r}\nINDEX = {index}\n{LAPSE_WORKER}")
            worker.stdin.close()
        outputs = [worker.stdout.read() for worker in workers]
        for worker in workers:
            worker.wait(timeout=300)
    # a session left to the other worker in the race is served by the next run
    odoo(db, "--log-level=warn", command=["shell"], text=True, capture_output=True,
         input=ANSWER_TIMER + "env.cr.commit()\n")  # fmt: skip
    hops = dict(
        line.split("|")
        for line in sql(
            db,
            f"select c.id, count(t.id) from discuss_channel c left join livechat_session_transfer t"
            f" on t.session_id = c.id and t.kind = 'timeout' where c.livechat_channel_id={lapse_id} group by c.id",
        ).splitlines()
    )
    after = dict(
        line.split("|")
        for line in sql(
            db, f"select id, livechat_operator_id from discuss_channel where livechat_channel_id={lapse_id}"
        ).splitlines()
    )
    done = all("WORKER DONE" in output for output in outputs)
    once = sum(count == "1" for count in hops.values())
    moved = sum(after[session] != before[session] for session in before)
    return [
        (
            "two no-answer jobs at once reassign each lapsed session once",
            done and len(hops) == LAPSED and once == LAPSED and moved == LAPSED,
            f"reassigned once: {once}/{LAPSED}, twice or more: "
            f"{sum(int(count) > 1 for count in hops.values())}, operator changed: {moved}"
            + ("" if done else f", a worker failed: {[o[-500:] for o in outputs]}"),
        )  # fmt: skip
    ]


def report(results):
    """Print one line per check and the total; return the exit code."""
    failed = sum(not ok for _, ok, _ in results)
    for name, ok, detail in results:
        print(f"check {'ok    ' if ok else 'FAILED'} {name}{'  (' + detail + ')' if detail else ''}")
    print(f"checks: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def shell_said(db, script):
    """Run ``script`` in an Odoo shell on ``db`` (two cursors of one process, no HTTP server).

    :return: ``(said, transcript)``: the words of each line it printed, by their first word
        (``{"CLOSE": [["both"], ...]}``), and the end of its output, to show when a check fails
    """
    out = odoo(
        db,
        "--log-level=warn",
        command=["shell"],
        input=script,
        text=True,
        capture_output=True,
        check=False,
    )
    said = {}
    for words in map(str.split, out.stdout.splitlines()):
        if words:
            said.setdefault(words[0], []).append(words[1:])
    return said, (out.stdout + out.stderr)[-800:]


def claim_check(db):
    """Check 7: two routings at once.

    :return: a list of ``(name, ok, detail)``
    """
    said, transcript = shell_said(db, CLAIM_CHECK)
    in_flight, late, all_claimed = (said.get(word, [[]])[0] for word in ("IN_FLIGHT", "LATE", "ALL_CLAIMED"))
    failure = "" if in_flight and late else f", shell: {transcript}"
    return [
        (
            "a routing passes over the operator another one is handing a session to",
            len(in_flight) == 2 and in_flight[0] != in_flight[1] and in_flight[1].startswith("claimer"),
            f"first {in_flight[:1]}, second {in_flight[1:]}{failure}",
        ),
        (
            "when every operator is being claimed, the visitor waits and is served after the commit",
            all_claimed == ["queued", "assigned"],
            f"state when created, then after the commit: {all_claimed}{failure}",
        ),
        (
            "a routing passes over who got a session since it began, without failing",
            len(late) == 2 and late[0] != late[1] and late[1].startswith("claimer"),
            f"given {late[:1]}, then {late[1:]}{failure}",
        ),
    ]


def rollup_check(db):
    """Check 8: two requests close sessions alike at once.

    :return: a list of ``(name, ok, detail)``
    """
    said, transcript = shell_said(db, ROLLUP_CHECK)
    closes = [words[0] for words in said.get("CLOSE", [])]
    rollup = said.get("ROLLUP", [[]])[0]
    failure = "" if closes and rollup else f", shell: {transcript}"
    return [
        (
            "two requests closing sessions alike at once both commit, neither waits",
            closes == ["both", "both"],
            f"rounds: {closes}{failure}",
        ),
        (
            "the Group Figures' rollup then counts every closed session",
            len(rollup) == 2 and rollup[0] == rollup[1] == "4",
            f"rollup, facts: {rollup}{failure}",
        ),
    ]


# check 9: the no-answer job hands back two sessions; the first one's operator reads a message
# (their membership changes) after the job's snapshot was taken
LEAVE_CHECK = (
    online_desk("leaver", "Leavers", "Leave Live Chat", answer_timeout_minutes=1)
    + """
from datetime import timedelta
from odoo import SUPERUSER_ID, api, fields
from odoo.tools import SQL
sessions = env["discuss.channel"].concat(*(
    env["discuss.channel"].create(livechat._get_livechat_discuss_channel_vals(f"Left {i}")) for i in range(2)
))
holders = {session.id: session.livechat_operator_id.id for session in sessions}
env.flush_all()
env.cr.execute(
    "UPDATE discuss_channel SET livechat_answer_due = %s WHERE id IN %s",
    (fields.Datetime.now() - timedelta(minutes=1), tuple(sessions.ids)),
)
env.cr.commit()
first = sessions[0]

def run_timer(cr):
    timers = api.Environment(cr, SUPERUSER_ID, {})["livechat.timers"]
    condition, action = timers._livechat_timer_list(fields.Datetime.now())[0]
    mine = SQL("(%s) AND c.livechat_channel_id = %s", condition, livechat.id)
    try:
        timers._livechat_timer_run(mine, action)
        cr.commit()
        return "ok"
    except Exception as error:
        cr.rollback()
        return type(error).__name__

def hops(cr):
    cr.execute(
        "SELECT c.id, count(t.id), bool_or(m.id IS NOT NULL) FROM discuss_channel c"
        " LEFT JOIN livechat_session_transfer t ON t.session_id = c.id AND t.kind = 'timeout'"
        " LEFT JOIN discuss_channel_member m ON m.channel_id = c.id AND m.partner_id = %s"
        " WHERE c.id = %s GROUP BY c.id",
        (holders[first.id], first.id),
    )
    first_row = cr.fetchone()
    cr.execute(
        "SELECT count(t.id) FROM livechat_session_transfer t WHERE t.kind = 'timeout' AND t.session_id = %s",
        (sessions[1].id,),
    )
    return f"{first_row[1]} {str(first_row[2]).lower()} {cr.fetchone()[0]}"

with env.registry.cursor() as timers_cr:
    timers_cr.execute("SELECT 1")  # the job's snapshot starts here
    with env.registry.cursor() as client_cr:
        client_cr.execute(
            "UPDATE discuss_channel_member SET fold_state = 'open' WHERE channel_id = %s AND partner_id = %s",
            (first.id, holders[first.id]),
        )
    outcome = run_timer(timers_cr)
with env.registry.cursor() as cr:
    print("FIRST_RUN", outcome, hops(cr))
with env.registry.cursor() as cr:
    outcome = run_timer(cr)
with env.registry.cursor() as cr:
    print("NEXT_RUN", outcome, hops(cr))
"""
)


def leave_check(db):
    """Check 9: the no-answer job while an operator's Discuss changes their membership.

    :return: a list of ``(name, ok, detail)``
    """
    said, transcript = shell_said(db, LEAVE_CHECK)
    first, after = (said.get(word, [[]])[0] for word in ("FIRST_RUN", "NEXT_RUN"))
    failure = "" if first and after else f", shell: {transcript}"
    # each: the job's outcome, the first session's timeout hops, whether its operator is still in
    # it, the second session's timeout hops
    return [
        (
            "a membership changed during the no-answer job leaves that session to the next run",
            first == ["ok", "0", "true", "1"],
            f"job, first session's hops and operator in it, second's hops: {first}{failure}",
        ),
        (
            "the next run hands it back once",
            after == ["ok", "1", "false", "1"],
            f"{after}{failure}",
        ),
    ]


def main():
    harness.build_database(DB, SETUP)
    if TEMPLATE_DB:
        subprocess.run(["dropdb", "--if-exists", TEMPLATE_DB], check=True)
        subprocess.run(["createdb", "-T", DB, TEMPLATE_DB], check=True)
    base = f"http://127.0.0.1:{PORT}"
    with tempfile.NamedTemporaryFile(prefix="odoo-concurrency-", suffix=".log", delete=False) as log:
        server = harness.start_server(DB, PORT, WORKERS, log)
        try:
            harness.wait_until_up(base, log.name)
            results, elapsed = run_races(DB, [base])
            results += timer_race(DB)
            results += claim_check(DB)
            results += rollup_check(DB)
            results += leave_check(DB)
        finally:
            server.terminate()
            server.wait(timeout=60)
    retries, exhausted, _by_try, _sleep = harness.retries_in(harness.read_log(log.name)[0])
    subprocess.run(["dropdb", "--if-exists", DB], check=False)
    if any(not ok for _, ok, _ in results):
        print(f"server log: {log.name}")
    else:
        os.unlink(log.name)
    print(
        f"{VISITORS} simultaneous get_session on {WORKERS} workers: {elapsed:.2f} s; concurrency retries: {retries}, exhausted: {exhausted}"
    )
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
