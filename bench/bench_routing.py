"""Routing benchmark: a stock live chat against a grouped one, over the same operators.

Builds (once, in its own database) 2000 operators, a history of past sessions and messages, and
some sessions still open; then, for 50, 500 and 2000 online operators, times the routing decision
that /im_livechat/get_session makes (``_get_livechat_discuss_channel_vals``) and counts its SQL
queries, each run on a cold ORM cache as a new request has; then times the supervisors' Group
Figures pivot over the whole history; then the timers' scheduled action over the history made
open (every session in progress, every timer on): a sweep with nothing due, and one with a full
batch of lapsed sessions. Prints three tables.

Usage: python bench/bench_routing.py [--sessions 10000] [--messages-per-session 10] [--runs 60]
(environment: ODOO_SRC, ADDONS_PATH, BENCH_DB; run by `make bench`).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from livechat_groups_tools.harness import ODOO_SRC, copy_rows, registry

DB = os.environ.get("BENCH_DB", "livechat_groups_bench")
SIZES = (50, 500, 2000)
# the timers row: sessions whose answer lapsed at once, handed back in one run
LAPSED = 50

sys.path.insert(0, ODOO_SRC)
from odoo import SUPERUSER_ID, Command, api  # noqa: E402


def build(env, sessions, messages_per_session):
    """Operators, two live chats per size, and a bulk history copied from one real session."""
    if env["res.users"].search_count([("login", "=like", "bench_op_%")]) >= max(SIZES):
        return
    print(
        f"building {max(SIZES)} operators, {sessions} sessions, {sessions * messages_per_session} messages ..."
    )
    env = env(
        context=dict(env.context, tracking_disable=True, no_reset_password=True, mail_create_nolog=True)
    )
    internal = env.ref("base.group_user")
    users = env["res.users"]
    for start in range(0, max(SIZES), 200):
        users |= env["res.users"].create(
            [
                {
                    "name": f"Bench Operator {i}",
                    "login": f"bench_op_{i}",
                    "groups_id": [Command.set(internal.ids)],
                }
                for i in range(start, start + 200)
            ]
        )
    env["bus.presence"].create([{"user_id": user.id, "status": "online"} for user in users])
    for size in SIZES:
        operators = users[:size]
        env["im_livechat.channel"].create(
            {"name": f"Bench Stock {size}", "user_ids": [Command.set(operators.ids)]}
        )
        halves = [operators[: size // 2], operators[size // 2 :]]
        groups = env["livechat.group"].create(
            [
                {
                    "name": f"Bench Entry {size} {index}",
                    "sequence": index,
                    "user_ids": [Command.set(half.ids)],
                }
                for index, half in enumerate(halves)
            ]
        )
        env["im_livechat.channel"].create(
            {
                "name": f"Bench Grouped {size}",
                "user_ids": [Command.clear()],
                "entry_group_ids": [Command.set(groups.ids)],
                "max_sessions_per_operator": 5,
            }
        )
    # One real session and message, then copies of them in bulk: the ORM would take an hour.
    channel = env["im_livechat.channel"].search([("name", "=", f"Bench Grouped {max(SIZES)}")])
    template = env["discuss.channel"].create(
        channel._get_livechat_discuss_channel_vals("Template", previous_operator_id=None)
    )
    message = template.message_post(body="Hello, I have a question about my order.", message_type="comment")
    cr = env.cr
    cr.flush()

    overrides = {
        # spread over the operators; a few percent still open (as if held right now)
        "livechat_operator_id": f"(SELECT partner_id FROM res_users WHERE login = 'bench_op_' || mod(g, {max(SIZES)}))",
        "livechat_routing_state": "CASE WHEN mod(g, 25) = 0 THEN 'assigned' ELSE 'closed' END",
        "livechat_active": "mod(g, 25) = 0",
        "create_date": "now() at time zone 'UTC' - mod(g, 1440) * interval '3 minutes'",
        "name": "'Bench session ' || g",
        "uuid": "md5(random()::text || g)",
    }
    copy_rows(
        cr, "discuss_channel", template.id, overrides, "generate_series(1, %(count)s) g", {"count": sessions}
    )
    overrides = {
        "res_id": "c.id",
        "create_date": "c.create_date + g * interval '1 minute'",
        "date": "c.create_date + g * interval '1 minute'",
        "message_id": "md5(random()::text || c.id || g)",
    }
    # every copied session, and one message of each per number of the series
    sessions_and_series = (
        "(SELECT * FROM discuss_channel WHERE name LIKE 'Bench session %%') c, "
        "generate_series(1, %(count)s) g"
    )
    copy_rows(cr, "mail_message", message.id, overrides, sessions_and_series, {"count": messages_per_session})
    cr.execute("ANALYZE discuss_channel; ANALYZE mail_message")
    # the copies bypassed the ORM: store their figures' facts as the migration to 18.0.1.1.0 does
    env["livechat.session.report"]._livechat_refresh_facts()
    cr.commit()


def decide(env, channel):
    """One routing decision of a new session on a cold cache: (milliseconds, queries)."""
    env.invalidate_all()
    before = env.cr.sql_log_count
    start = time.perf_counter()
    vals = channel._get_livechat_discuss_channel_vals("Visitor", previous_operator_id=None)
    elapsed = (time.perf_counter() - start) * 1000
    assert vals, f"{channel.name} refused the session"
    return elapsed, env.cr.sql_log_count - before


def measure(env, channels, runs):
    """Alternate the decisions of ``channels`` run by run, so that each sees the same machine;
    return ``{channel: (p50 ms, p95 ms, queries)}``."""
    samples = {channel: ([], set()) for channel in channels}
    for channel in channels:
        decide(env, channel)  # warm the registry's caches (views, access rules)
    for _ in range(runs):
        for channel in channels:
            elapsed, queries = decide(env, channel)
            samples[channel][0].append(elapsed)
            samples[channel][1].add(queries)
    result = {}
    for channel, (timings, queries) in samples.items():
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        result[channel] = (statistics.median(timings), p95, "/".join(str(q) for q in sorted(queries)))
    return result


FIGURES = [
    "waiting_time:avg",
    "waiting_time_p90:p90",
    "first_reply_time:avg",
    "forward_count:avg",
    "resolved_in_entry:avg",
]


def measure_figures(env, runs):
    """The supervisors' Group Figures pivot over the whole history, per live chat: p50 and p95 ms
    through ``read_group`` (as the pivot reads it), and the same aggregate in SQL with
    PostgreSQL's JIT left on, to show what switching it off saves."""
    Report = env["livechat.session.report"]
    aggregate = (
        "SELECT livechat_channel_id, count(*), avg(waiting_time), percentile_cont(0.9) WITHIN GROUP "
        "(ORDER BY waiting_time_p90), avg(first_reply_time), avg(forward_count), avg(resolved_in_entry) "
        "FROM livechat_session_report GROUP BY 1"
    )

    def read_group():
        env.invalidate_all()
        Report.read_group([], FIGURES, ["livechat_channel_id"], lazy=False)

    def jit_on():
        env.cr.execute("SET LOCAL jit = on")
        env.cr.execute(aggregate)
        env.cr.fetchall()

    result = {}
    for label, run in (("read_group (JIT off)", read_group), ("SQL, JIT on", jit_on)):
        run()  # warm
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            run()
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        result[label] = (statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.95))])
    return result


def measure_timers(env, runs):
    """One run of the timers' scheduled action over every bench session made open, all four
    timers on; rolled back afterwards. Returns ``(open sessions, {label: (p50 ms, p95 ms,
    queries)})``: with nothing due, and with 50 sessions whose answer lapsed."""

    cr = env.cr
    cr.execute("SAVEPOINT bench_timers")
    channel = env["im_livechat.channel"].search([("name", "=", f"Bench Grouped {max(SIZES)}")])
    channel.write(
        {
            "answer_timeout_minutes": 5,
            "away_grace_minutes": 10,
            "inactivity_close_minutes": 30,
            "answer_target_minutes": 5,
        }
    )
    env.flush_all()
    cr.execute(
        """
        UPDATE discuss_channel
           SET livechat_routing_state = 'assigned', livechat_active = TRUE, livechat_channel_id = %s,
               livechat_assigned_date = now() AT TIME ZONE 'UTC', last_interest_dt = now() AT TIME ZONE 'UTC',
               livechat_answer_due = now() AT TIME ZONE 'UTC' + interval '5 minutes'
         -- every session, the bulk copies and the ones the ORM made: nothing due is nothing due
         WHERE channel_type = 'livechat' AND livechat_routing_state IS NOT NULL
        """,
        (channel.id,),
    )
    opened = cr.rowcount
    cr.execute("ANALYZE discuss_channel")
    env.invalidate_all()
    Timers = env["livechat.timers"]

    def sweep():
        env.invalidate_all()
        before = cr.sql_log_count
        start = time.perf_counter()
        Timers._cron_livechat_timers(auto_commit=False)  # the work measured, in the bench's transaction
        env.flush_all()
        return (time.perf_counter() - start) * 1000, cr.sql_log_count - before

    def lapse_a_batch():
        cr.execute(
            """
            UPDATE discuss_channel SET livechat_answer_due = now() AT TIME ZONE 'UTC' - interval '1 minute'
             WHERE id IN (SELECT id FROM discuss_channel WHERE livechat_routing_state = 'assigned'
                           AND livechat_channel_id = %s ORDER BY id LIMIT %s)
            """,
            (channel.id, LAPSED),
        )

    result = {}
    for label, prepare, count in (
        ("nothing due", None, runs),
        (f"{LAPSED} lapsed", lapse_a_batch, min(runs, 5)),
    ):
        samples = []
        for _ in range(count):
            cr.execute("SAVEPOINT bench_sweep")
            if prepare:
                prepare()
            samples.append(sweep())
            cr.execute("ROLLBACK TO SAVEPOINT bench_sweep")
        timings = sorted(ms for ms, _ in samples)
        queries = "/".join(str(q) for q in sorted({q for _, q in samples}))
        result[label] = (
            statistics.median(timings),
            timings[min(len(timings) - 1, int(len(timings) * 0.95))],
            queries,
        )
    cr.execute("ROLLBACK TO SAVEPOINT bench_timers")
    env.invalidate_all()
    return opened, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--messages-per-session", type=int, default=10)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()

    db_registry = registry(DB)
    with db_registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        build(env, args.sessions, args.messages_per_session)
        counts = {
            "sessions": env["discuss.channel"].search_count([("channel_type", "=", "livechat")]),
            "messages": env["mail.message"].search_count([("model", "=", "discuss.channel")]),
        }
        print(
            f"history: {counts['sessions']} live chat sessions, {counts['messages']} messages; {args.runs} runs per cell"
        )
        rows = []
        for size in SIZES:
            channels = [
                env["im_livechat.channel"].search([("name", "=", f"Bench {kind} {size}")])
                for kind in ("Stock", "Grouped")
            ]
            figures = measure(env, channels, args.runs)
            rows += [
                (size, kind, *figures[channel])
                for kind, channel in zip(("stock", "grouped"), channels, strict=False)
            ]
        figures = measure_figures(env, min(args.runs, 20))
        reported = env["livechat.session.report"].search_count([])
        opened, timers = measure_timers(env, min(args.runs, 20))
        cr.rollback()

    header = ("operators", "live chat", "p50 ms", "p95 ms", "queries")
    print()
    print(" | ".join(f"{h:>10}" for h in header))
    print(" | ".join("-" * 10 for _ in header))
    for size, kind, p50, p95, queries in rows:
        print(f"{size:>10} | {kind:>10} | {p50:>10.1f} | {p95:>10.1f} | {queries:>10}")
    print()
    print(f"Group Figures pivot per live chat, over {reported} sessions")
    print(f"{'read':>22} | {'p50 ms':>10} | {'p95 ms':>10}")
    print(" | ".join(("-" * 22, "-" * 10, "-" * 10)))
    for label, (p50, p95) in figures.items():
        print(f"{label:>22} | {p50:>10.1f} | {p95:>10.1f}")
    print()
    print(f"Timers: one run of the scheduled action over {opened} open sessions, every timer on")
    print(f"{'sweep':>28} | {'p50 ms':>10} | {'p95 ms':>10} | {'queries':>10}")
    print(" | ".join(("-" * 28, "-" * 10, "-" * 10, "-" * 10)))
    for label, (p50, p95, queries) in timers.items():
        print(f"{label:>28} | {p50:>10.1f} | {p95:>10.1f} | {queries:>10}")


if __name__ == "__main__":
    main()
