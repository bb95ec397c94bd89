"""Peak hours on the routing bench's operators: a shift change and a long queue.

Runs on a copy (``BENCH_HANDBACK_DB``, made again at each run) of the routing bench's database
(``BENCH_DB``, built by bench_routing.py): 2000 operators, the live chat "Bench Grouped 2000" with
two entry groups of 1,000 members each, at most 5 sessions per operator.

1. A shift change: 200 operators of the first group went away while holding 5 sessions each,
   whose answer lapsed: 1,000 sessions to hand back. The timers' scheduled action runs in 4
   processes at once (as 4 workers would), each until nothing is due. Printed: SQL queries per
   handed-back session and the wall time, beside the aims (stock Odoo has no hand-back: no
   reference). Fails when a guarantee breaks: a session handed back twice or not at all, an
   operator above capacity, a session with two holders.
2. A long queue: an operator takes the first of 10, then of 1,000 waiting visitors (the
   session's Take, ``action_livechat_take``): rows written, bus notifications (rows, and the
   batches they are sent in) and p50, beside the aim (a Take with 1,000 waiting costs at most
   1.2 times one with 10). Fails when a visitor would read a wrong place from the queue's one
   notification (the ids of its waiting sessions in order), or is not told.

Usage: python bench/bench_handback.py [--sessions 1000] [--away 200] [--workers 4] [--takes 15]
(environment: ODOO_SRC, ADDONS_PATH, BENCH_DB, BENCH_HANDBACK_DB; run by `make bench`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import traceback

import psycopg2.errors

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from livechat_groups_tools.harness import ODOO_SRC, copy_rows, registry, sql

DB = os.environ.get("BENCH_DB", "livechat_groups_bench")
COPY = os.environ.get("BENCH_HANDBACK_DB", f"{DB}_handback")
CHANNEL = "Bench Grouped 2000"
CAPACITY = 5
AIM_QUERIES = 15
AIM_SECONDS = 60
AIM_TAKE_RATIO = 1.2

sys.path.insert(0, ODOO_SRC)
from odoo import SUPERUSER_ID, api  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402


def prepare(env, sessions, away):
    """The shift change: ``away`` operators of the first entry group gone offline an hour ago,
    holding ``sessions`` sessions whose answer lapsed (copied in bulk from one real session, with
    their visitor and their operator as members); everyone else online with nothing open."""
    cr = env.cr
    channel = env["im_livechat.channel"].search([("name", "=", CHANNEL)])
    # an hour to answer: the sessions handed back do not lapse again while the bench runs
    channel.write({"answer_timeout_minutes": 60, "away_grace_minutes": 10, "inactivity_close_minutes": 0})
    # the bench history's open sessions close: the operators start the shift empty-handed
    cr.execute(
        "UPDATE discuss_channel SET livechat_routing_state = 'closed', livechat_active = FALSE"
        " WHERE livechat_routing_state IN ('assigned', 'queued')"
    )
    operators = env["res.users"].search([("login", "=like", "bench_op_%")], order="id")
    Settings = env["res.users.settings"]
    missing = operators - Settings.search([("user_id", "in", operators.ids)]).user_id
    Settings.create([{"user_id": user.id} for user in missing])  # their web client made it
    env["bus.presence"].search([("user_id", "in", operators.ids)]).write({"status": "online"})
    group = channel.entry_group_ids.sorted("sequence")[:1]
    gone = (group.user_ids & operators)[:away]
    template = env["discuss.channel"].create(
        channel._get_livechat_discuss_channel_vals("Bench lapsed 0", previous_operator_id=None)
    )
    env.flush_all()
    cr.execute(
        "UPDATE bus_presence SET status = 'offline', last_poll = now() AT TIME ZONE 'UTC' - interval '1 hour'"
        " WHERE user_id = ANY(%s)",
        (gone.ids,),
    )
    guest = _visitor(template, "Bench visitor 0")
    copy_rows(
        cr,
        "mail_guest",
        guest.id,
        {"name": "'Bench visitor ' || g", "access_token": "md5(random()::text || g)"},
        "generate_series(1, %(count)s) g",
        {"count": sessions},
    )
    # in the order of gone.ids, as the operator users above
    partners = (
        "(SELECT array_agg(u.partner_id ORDER BY o.n) FROM unnest(%(gone)s::int[]) WITH ORDINALITY o(id, n)"
        " JOIN res_users u ON u.id = o.id)"
    )
    copy_rows(
        cr,
        "discuss_channel",
        template.id,
        {
            "name": "'Bench lapsed ' || g",
            "uuid": "md5(random()::text || g)",
            "livechat_group_id": str(group.id),
            "livechat_routing_state": "'assigned'",
            "livechat_active": "TRUE",
            "livechat_operator_user_id": "(%(gone)s::int[])[1 + mod(g, %(away)s)]",
            "livechat_operator_id": f"({partners})[1 + mod(g, %(away)s)]",
            "livechat_assigned_date": "now() AT TIME ZONE 'UTC' - interval '1 hour'",
            "livechat_answer_due": "now() AT TIME ZONE 'UTC' - interval '1 minute'",
            "last_interest_dt": "now() AT TIME ZONE 'UTC'",
            "livechat_queue_notice_id": "NULL",
        },
        "generate_series(1, %(count)s) g",
        {"count": sessions, "gone": gone.ids, "away": away},
    )
    lapsed = "(SELECT * FROM discuss_channel WHERE name LIKE 'Bench lapsed %%' AND id <> %(session)s) c"
    for member in template.channel_member_ids:
        if member.guest_id:
            copy_rows(
                cr,
                "discuss_channel_member",
                member.id,
                {"channel_id": "c.id", "guest_id": "gu.id"},
                f"{lapsed} JOIN mail_guest gu ON gu.name = 'Bench visitor ' || substr(c.name, 14)",
                {"session": template.id},
            )
        elif member.partner_id == template.livechat_operator_id:
            copy_rows(
                cr,
                "discuss_channel_member",
                member.id,
                {"channel_id": "c.id", "partner_id": "c.livechat_operator_id"},
                lapsed,
                {"session": template.id},
            )
    # the template itself is not one of them
    cr.execute(
        "UPDATE discuss_channel SET livechat_routing_state = 'closed', livechat_active = FALSE"
        " WHERE id = %s",
        (template.id,),
    )
    cr.execute("ANALYZE discuss_channel; ANALYZE discuss_channel_member")
    cr.commit()
    return gone, template.id


def _visitor(session, name):
    """The guest of ``session``, its visitor, as the website's get_session makes them."""
    guest = session.env["mail.guest"].create({"name": name})
    session.env["discuss.channel.member"].create({"channel_id": session.id, "guest_id": guest.id})
    session.env.flush_all()
    return guest


def work():
    """One worker: the timers' scheduled action until nothing is due; prints its queries."""
    db_registry = registry(COPY)
    queries, conflicts = 0, []
    while True:
        with db_registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            before = cr.sql_log_count
            cr.execute(
                "SELECT count(*) FROM discuss_channel c WHERE c.livechat_routing_state = 'assigned'"
                " AND c.name LIKE 'Bench lapsed %%' AND c.livechat_answer_due <= now() AT TIME ZONE 'UTC'"
            )
            due = cr.fetchone()[0]
            if not due:
                break
            try:
                env["livechat.timers"]._cron_livechat_timers(auto_commit=True)
                cr.commit()
            except psycopg2.errors.TransactionRollbackError as error:
                # as Odoo's scheduler: the job's transaction is rolled back, it runs again
                cr.rollback()
                conflicts.append(str(error).splitlines()[0])
                traceback.print_exc()
            queries += cr.sql_log_count - before
    print(json.dumps({"queries": queries, "conflicts": conflicts}))


def shift_change(sessions, away, workers):
    """Prepare the copy, run the workers, check the guarantees. Returns the row and the broken
    guarantees."""
    sql("postgres", f'DROP DATABASE IF EXISTS "{COPY}"')
    sql("postgres", f'CREATE DATABASE "{COPY}" TEMPLATE "{DB}"')
    with registry(COPY).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        gone, template = prepare(env, sessions, away)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--work"], stdout=subprocess.PIPE, text=True, env=os.environ
        )
        for _ in range(workers)
    ]
    outputs = [proc.communicate()[0] for proc in procs]
    wall = time.perf_counter() - start
    results = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    queries = sum(result["queries"] for result in results)
    conflicts = [conflict for result in results for conflict in result["conflicts"]]
    broken = []
    lapsed = f"SELECT id FROM discuss_channel WHERE name LIKE 'Bench lapsed %' AND id <> {template}"
    hops = sql(
        COPY,
        f"SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1) FROM ("
        f" SELECT c.id, (SELECT count(*) FROM livechat_session_transfer t WHERE t.session_id = c.id"
        f" AND t.kind IN ('timeout', 'requeue')) n FROM ({lapsed}) c) s",
    ).split("|")
    if int(hops[1]):
        broken.append(f"{hops[1]} sessions handed back twice")
    if int(hops[0]):
        broken.append(f"{hops[0]} sessions not handed back")
    over = sql(
        COPY,
        "SELECT count(*) FROM (SELECT livechat_operator_id FROM discuss_channel WHERE channel_type = 'livechat'"
        f" AND livechat_routing_state = 'assigned' GROUP BY 1 HAVING count(*) > {CAPACITY}) o",
    )
    if int(over):
        broken.append(f"{over} operators above capacity")
    two = sql(
        COPY,
        "SELECT count(*) FROM (SELECT m.channel_id FROM discuss_channel_member m"
        " JOIN res_users u ON u.partner_id = m.partner_id AND NOT u.share AND u.login LIKE 'bench_op_%'"
        f" WHERE m.channel_id IN ({lapsed}) GROUP BY 1 HAVING count(*) > 1) s",
    )
    if int(two):
        broken.append(f"{two} sessions with two holders")
    back_to_gone = sql(
        COPY,
        f"SELECT count(*) FROM discuss_channel c JOIN res_users u ON u.partner_id = c.livechat_operator_id"
        f" WHERE c.id IN ({lapsed}) AND c.livechat_routing_state = 'assigned' AND u.id IN ({','.join(map(str, gone.ids))})",
    )
    if int(back_to_gone):
        broken.append(f"{back_to_gone} sessions given back to who went away")
    states = (
        sql(
            COPY,
            f"SELECT livechat_routing_state, count(*) FROM discuss_channel WHERE id IN ({lapsed})"
            " GROUP BY livechat_routing_state",
        )
        .replace("|", " ")
        .replace("\n", ", ")
    )
    return (sessions, away, workers, queries / sessions, wall, states, len(conflicts)), broken


def take_cost(env, waiting, takes):
    """An operator takes the first of ``waiting`` visitors, ``takes`` times (each rolled back):
    the rows written, the bus notifications (rows, batches) and the p50 of the Take, its commit's
    bus rows included. Checks the places the others work out from their queue's notification."""
    cr = env.cr
    cr.execute("SAVEPOINT bench_take")
    channel = env["im_livechat.channel"].search([("name", "=", CHANNEL)])
    group = channel.entry_group_ids.sorted("sequence")[:1]
    operator = group.user_ids.filtered(lambda u: u.login.startswith("bench_op_"))[-1]
    # nobody online: every visitor waits; then one operator comes to take them
    env["bus.presence"].search([]).write({"status": "offline"})
    channel.max_sessions_per_operator = 0
    Session = env["discuss.channel"]
    template = Session.create(
        channel._get_livechat_discuss_channel_vals("Bench queue 0", previous_operator_id=None)
    )
    assert template.livechat_routing_state == "queued"
    env.flush_all()
    guest = _visitor(template, "Bench queue visitor 0")
    # the waiting visitors: copies of one session, each with its own notice and guest
    copy_rows(
        cr,
        "discuss_channel",
        template.id,
        {
            "name": "'Bench queue ' || g",
            "uuid": "md5(random()::text || g)",
            "livechat_queued_date": "now() AT TIME ZONE 'UTC' - interval '1 hour' + g * interval '1 second'",
        },
        "generate_series(1, %(count)s) g",
        {"count": waiting},
    )
    copy_rows(
        cr,
        "mail_message",
        template.livechat_queue_notice_id.id,
        {"res_id": "c.id", "message_id": "md5(random()::text || c.id)"},
        "(SELECT id FROM discuss_channel WHERE name LIKE 'Bench queue %%' AND name <> 'Bench queue 0') c",
        {},
    )
    cr.execute(
        """
        UPDATE discuss_channel c SET livechat_queue_notice_id = m.id
          FROM mail_message m WHERE m.res_id = c.id AND m.model = 'discuss.channel' AND c.name LIKE 'Bench queue %%'
           AND c.id <> %s
        """,
        (template.id,),
    )
    copy_rows(
        cr,
        "mail_guest",
        guest.id,
        {"name": "'Bench queue visitor ' || c.id", "access_token": "md5(random()::text || c.id)"},
        "(SELECT id FROM discuss_channel WHERE name LIKE 'Bench queue %%' AND name <> 'Bench queue 0') c",
        {},
    )
    member = template.channel_member_ids.filtered("guest_id")
    copy_rows(
        cr,
        "discuss_channel_member",
        member.id,
        {"channel_id": "c.id", "guest_id": "gu.id"},
        "(SELECT id FROM discuss_channel WHERE name LIKE 'Bench queue %%' AND name <> 'Bench queue 0') c"
        " JOIN mail_guest gu ON gu.name = 'Bench queue visitor ' || c.id",
        {},
    )
    cr.execute("UPDATE discuss_channel SET livechat_routing_state = 'closed' WHERE id = %s", (template.id,))
    cr.execute("ANALYZE discuss_channel")
    env.invalidate_all()
    env["bus.presence"].search([("user_id", "=", operator.id)]).write({"status": "online"})
    # what the set-up sends (2,000 presences going offline) is written now, not counted in a Take
    env.flush_all()
    cr.precommit.run()
    first = Session.search(
        [
            ("name", "=like", "Bench queue %"),
            ("livechat_routing_state", "=", "queued"),
            ("livechat_group_id", "=", group.id),
        ],
        order="livechat_queued_date, id",
        limit=1,
    )
    samples, wrong = [], 0
    for _ in range(takes):
        cr.execute("SAVEPOINT bench_one_take")
        env.invalidate_all()
        cr.execute("SELECT count(*) FROM bus_bus")
        bus_before = cr.fetchone()[0]
        writes_before = _writes(cr)
        batches = []
        Bus = env["bus.bus"]
        create = type(Bus).create

        def counted(self, vals_list, _create=create, batches=batches):
            batches.append(len(vals_list) if isinstance(vals_list, list) else 1)
            return _create(self, vals_list)

        type(Bus).create = counted
        try:
            start = time.perf_counter()
            first.with_user(operator).action_livechat_take()
            env.flush_all()
            cr.precommit.run()  # what the commit writes: the bus rows
            elapsed = (time.perf_counter() - start) * 1000
        finally:
            type(Bus).create = create
        cr.execute("SELECT count(*) FROM bus_bus")
        bus_rows = cr.fetchone()[0] - bus_before
        written = _writes(cr) - writes_before - bus_rows
        # the places the waiting visitors' clients work out from their queue's notification
        # (the ids of its waiting sessions in order: each counts those before its own) are right
        cr.execute("SELECT channel, message FROM bus_bus ORDER BY id DESC LIMIT %s", (bus_rows,))
        told, notified = {}, 0
        for channel_json, message in reversed(cr.fetchall()):
            message = json.loads(message)
            if message["type"] != "livechat_groups/queue_places":
                continue
            notified += 1
            if json.loads(channel_json)[1:] != ["livechat.group", group.id, "queue"] or set(
                message["payload"]
            ) != {
                "group_id",
                "queue",
            }:
                wrong += 1  # on its group's queue channel, and nothing but the queue's order
            told.update({sid: place for place, sid in enumerate(message["payload"]["queue"], start=1)})
        cr.execute(
            """
            SELECT id, row_number() OVER (ORDER BY livechat_queued_date, id) FROM discuss_channel
             WHERE livechat_routing_state = 'queued' AND livechat_group_id = %s
            """,
            (group.id,),
        )
        places = dict(cr.fetchall())
        wrong += sum(1 for sid, place in places.items() if told.get(sid) != place)  # wrong or untold
        wrong += sum(1 for sid in told if sid not in places)
        wrong += abs(notified - 1)  # one notification for the queue, whatever its length
        samples.append((elapsed, written, bus_rows, len(batches)))
        cr.execute("ROLLBACK TO SAVEPOINT bench_one_take")
    cr.execute("ROLLBACK TO SAVEPOINT bench_take")
    env.invalidate_all()
    p50 = statistics.median(ms for ms, *_ in samples)
    return (
        p50,
        max(w for _, w, _, _ in samples),
        max(b for _, _, b, _ in samples),
        max(n for *_, n in samples),
        wrong,
    )


def _writes(cr):
    """Rows inserted, updated or deleted by this transaction so far, over every table."""
    cr.execute("SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
    return cr.fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--away", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--takes", type=int, default=15)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-shift", action="store_true", help="only the long queue")
    args = parser.parse_args()
    if args.work:
        work()
        return

    broken = []
    if not args.skip_shift:
        row, broken = shift_change(args.sessions, args.away, args.workers)
        sessions, away, workers, per_session, wall, states, conflicts = row
        print()
        print(
            f"Shift change: {sessions} lapsed sessions of {away} away operators, among two 1,000-member groups,"
            f" handed back by the timers in {workers} processes (stock: no hand-back, no reference)"
        )
        print(f"{'queries per session':>20} | {'aim':>6} | {'wall s':>8} | {'aim':>6} | sessions now")
        print(" | ".join(("-" * 20, "-" * 6, "-" * 8, "-" * 6, "-" * 12)))
        print(
            f"{per_session:>20.1f} | {'<= ' + str(AIM_QUERIES):>6} | {wall:>8.1f} | {'<= ' + str(AIM_SECONDS):>6} | {states}"
        )
        print(f"runs rolled back on a concurrency conflict (then run again): {conflicts}")
        for failure in broken:
            print(f"GUARANTEE BROKEN: {failure}")

    db = COPY if not args.skip_shift else DB
    with (Registry(db) if args.skip_shift is False else registry(db)).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        rows = [(waiting, *take_cost(env, waiting, args.takes)) for waiting in (10, 1000)]
        cr.rollback()
    print()
    print(f"A Take with visitors waiting in the group ({args.takes} takes each, rolled back)")
    print(f"{'waiting':>8} | {'p50 ms':>8} | {'rows written':>12} | {'bus rows':>8} | {'bus batches':>11}")
    print(" | ".join(("-" * 8, "-" * 8, "-" * 12, "-" * 8, "-" * 11)))
    for waiting, p50, written, bus_rows, batches, wrong in rows:
        print(f"{waiting:>8} | {p50:>8.1f} | {written:>12} | {bus_rows:>8} | {batches:>11}")
        if wrong:
            broken.append(f"{wrong} visitors told a wrong place with {waiting} waiting")
            print(f"GUARANTEE BROKEN: {wrong} visitors told a wrong place")
    (_, p50_10, w10, b10, n10, _), (_, p50_1k, w1k, b1k, n1k, _) = rows
    print(
        f"ratio 1,000/10 waiting: p50 {p50_1k / p50_10:.2f}, rows written {w1k / max(w10, 1):.2f},"
        f" bus rows {b1k / max(b10, 1):.2f}, bus batches {n1k / max(n10, 1):.2f} (aim <= {AIM_TAKE_RATIO})"
    )
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
