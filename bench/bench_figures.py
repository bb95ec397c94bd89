"""Figures at size: the Group Figures pivot over a million sessions, and the supervisors' board
over ten thousand open ones.

Builds (once, in its own database) 100 operators in seven groups of two live chats, 1,000,000
closed sessions spread over two years with their hops (routed, forwarded in one case out of five,
a timeout in one out of twenty) and their messages (the visitor's, the operator's reply, the
specialist's), and 10,000 open sessions; then stores the figures' facts of them all, as the
migration to 18.0.1.1.0 does. Everything is copied in bulk SQL from one real session made by the
ORM (``INSERT ... SELECT generate_series``): a few minutes, not hours.

Then prints two tables:

* the Group Figures pivot as the pivot view reads it (``read_group`` of the action's measures,
  for the total and each row level of the view's default rows: live chat, then entry group), by
  operator and by month; over every session, and with the action's default filter (this month);
  first read and p50/p95 of the next ones; also as the web client loads it (the total, then the
  other levels at once, on two connections); by the read paths the closed sessions' rollup
  stands in front of (the sessions counted in one pass, the two statements of 18.0.1.2.0, the
  percentile in the statement of the other figures of 18.0.1.1.0); beside the same figures
  computed at read time (the report's
  view before 18.0.1.1.0) and stock's ``im_livechat.report.channel`` over the same sessions;
* the supervisors' board (its kanban's ``web_read_group`` of the columns, then each column's
  ``web_search_read`` of 40 cards, as the web client reads it) as a supervisor, on 10,000 and on
  1,000 open sessions: SQL queries and time.

Usage: python bench/bench_figures.py [--sessions 1000000] [--open 10000] [--runs 20]
(environment: ODOO_SRC, ADDONS_PATH, BENCH_FIGURES_DB; run by `make bench`; BENCH_REBUILD=1
there drops the database first).
"""

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import datetime
from unittest.mock import patch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from livechat_groups_tools.harness import ODOO_SRC, copy_rows, registry

DB = os.environ.get("BENCH_FIGURES_DB", "livechat_groups_bench_figures")
OPERATORS_PER_GROUP = 14
CARDS_PER_COLUMN = 40  # the kanban view's default limit per column

sys.path.insert(0, ODOO_SRC)
from odoo import SUPERUSER_ID, Command, api  # noqa: E402

# the pivot view's default rows: one read_group per level, the total first
PIVOT_LEVELS = [[], ["livechat_channel_id"], ["livechat_channel_id", "group_id"]]
STOCK_MEASURES = ["__count", "duration:avg", "nbr_message:avg", "time_to_answer:avg", "is_without_answer:sum"]


def build(env, sessions, open_sessions):
    """Operators, groups, two live chats, then the bulk history; returns nothing. Skipped when
    the database already holds it."""
    if env["im_livechat.channel"].search_count([("name", "=", "Figures External")]):
        return
    started = time.perf_counter()
    print(
        f"building {sessions} closed and {open_sessions} open sessions (a few minutes, once) ...", flush=True
    )
    env = env(
        context=dict(env.context, tracking_disable=True, no_reset_password=True, mail_create_nolog=True)
    )
    internal = env.ref("base.group_user")
    livechat_user = env.ref("im_livechat.im_livechat_group_user")
    names = ["General A", "General B", "Sales", "Tech", "Helpdesk", "Accounting", "HR"]
    users = env["res.users"].create(
        [
            {
                "name": f"Figures Operator {i}",
                "login": f"fig_op_{i}",
                "groups_id": [Command.set(internal.ids)],
            }
            for i in range(len(names) * OPERATORS_PER_GROUP)
        ]
    )
    supervisor = env["res.users"].create(
        {
            "name": "Figures Supervisor",
            "login": "fig_supervisor",
            "groups_id": [Command.set((internal | livechat_user).ids)],
        }
    )
    Group = env["livechat.group"]
    groups = {
        name: Group.create(
            {
                "name": f"Figures {name}",
                "user_ids": [Command.set(users[i * OPERATORS_PER_GROUP : (i + 1) * OPERATORS_PER_GROUP].ids)],
            }
        )
        for i, name in enumerate(names)
    }
    supervisors = Group.create({"name": "Figures Supervisors", "user_ids": [Command.set(supervisor.ids)]})
    Livechat = env["im_livechat.channel"]
    external = Livechat.create(
        {
            "name": "Figures External",
            "user_ids": [Command.clear()],
            "routing_mode": "manual",
            "answer_target_minutes": 5,
            "entry_group_ids": [Command.set((groups["General A"] | groups["General B"]).ids)],
            "specialist_group_ids": [Command.set((groups["Sales"] | groups["Tech"]).ids)],
            "supervisor_group_ids": [Command.set(supervisors.ids)],
        }
    )
    internal_livechat = Livechat.create(
        {
            "name": "Figures Second",
            "user_ids": [Command.clear()],
            "routing_mode": "manual",
            "entry_group_ids": [Command.set(groups["Helpdesk"].ids)],
            "specialist_group_ids": [Command.set((groups["Accounting"] | groups["HR"]).ids)],
            "supervisor_group_ids": [Command.set(supervisors.ids)],
        }
    )
    # one real session, hop and message of each kind, made by the ORM: the models of the copies
    operator = users[0]
    template = env["discuss.channel"].create(
        {
            "name": "Figures template",
            "channel_type": "livechat",
            "livechat_channel_id": external.id,
            "livechat_active": False,
            "livechat_visitor_name": "Template",
            "livechat_group_id": groups["General A"].id,
            "livechat_routing_state": "closed",
            "livechat_operator_id": operator.partner_id.id,
            "channel_member_ids": [Command.create({"partner_id": operator.partner_id.id})],
        }
    )
    message = template.message_post(
        body="Hello, I have a question about my order.",
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
        author_id=operator.partner_id.id,
    )
    hop = template.livechat_transfer_ids[:1]
    env.flush_all()
    cr = env.cr

    # the plan of every session: live chat, groups, operators, delays, drawn once per session
    entry = {
        external.id: [groups["General A"], groups["General B"]],
        internal_livechat.id: [groups["Helpdesk"]],
    }
    specialists = {
        external.id: [groups["Sales"], groups["Tech"]],
        internal_livechat.id: [groups["Accounting"], groups["HR"]],
    }
    cr.execute("CREATE TEMP TABLE fig_member (group_id int, idx int, user_id int, partner_id int)")
    for group in groups.values():
        for idx, user in enumerate(group.user_ids.sorted("id")):
            cr.execute(
                "INSERT INTO fig_member VALUES (%s, %s, %s, %s)", (group.id, idx, user.id, user.partner_id.id)
            )
    cr.execute(
        """
        CREATE TEMP TABLE fig_plan AS
        WITH draw AS (
            SELECT g, g > %(closed)s AS open, random() AS r_lc, random() AS r_entry, random() AS r_fwd,
                   random() AS r_spec, floor(random() * %(per_group)s)::int AS op, random() AS r_timeout,
                   random() AS r_wait, random() AS r_reply, random() AS r_medium, random() AS r_age,
                   random() AS r_close, random() AS r_queued
              FROM generate_series(1, %(total)s) g
        ), chosen AS (
            SELECT d.*,
                   CASE WHEN r_lc < 0.7 OR open THEN %(ext)s ELSE %(int)s END AS lc,
                   CASE WHEN open THEN now() AT TIME ZONE 'UTC' - r_age * interval '60 minutes'
                        ELSE now() AT TIME ZONE 'UTC' - interval '1 hour' - r_age * interval '730 days'
                        END AS created,
                   open AND r_queued < 0.3 AS queued,
                   NOT open AND r_fwd < 0.2 AS forwarded,
                   r_timeout < 0.05 AS timeout,
                   (r_wait * r_wait * 600)::int AS wait_s,
                   CASE WHEN r_medium < 0.8 THEN 'website' WHEN r_medium < 0.95 THEN 'whatsapp'
                        ELSE 'telegram' END AS medium
              FROM draw d
        )
        SELECT nextval('discuss_channel_id_seq') AS id, c.*,
               CASE WHEN lc = %(ext)s THEN (%(ext_entry)s::int[])[1 + floor(r_entry * 2)::int]
                    ELSE (%(int_entry)s::int[])[1] END AS entry_group,
               CASE WHEN lc = %(ext)s THEN (%(ext_spec)s::int[])[1 + floor(r_spec * 2)::int]
                    ELSE (%(int_spec)s::int[])[1 + floor(r_spec * 2)::int] END AS spec_group,
               wait_s + CASE WHEN timeout THEN 120 ELSE 0 END + 10 + (r_reply * 120)::int AS reply_s
          FROM chosen c
        """,
        {
            "closed": sessions,
            "total": sessions + open_sessions,
            "per_group": OPERATORS_PER_GROUP,
            "ext": external.id,
            "int": internal_livechat.id,
            "ext_entry": [g.id for g in entry[external.id]],
            "int_entry": [g.id for g in entry[internal_livechat.id]],
            "ext_spec": [g.id for g in specialists[external.id]],
            "int_spec": [g.id for g in specialists[internal_livechat.id]],
        },
    )
    cr.execute(
        """
        CREATE TEMP TABLE fig_session AS
        SELECT p.*,
               CASE WHEN forwarded THEN spec_group ELSE entry_group END AS final_group,
               e.user_id AS entry_user, e.partner_id AS entry_partner,
               lapsed.user_id AS lapsed_user,
               s.user_id AS spec_user, s.partner_id AS spec_partner,
               p.created + p.reply_s * interval '1 second' AS replied,
               p.created + (p.reply_s + 60 + (p.r_close * 240)::int) * interval '1 second' AS forwarded_at,
               p.created + (p.reply_s + 300 + (p.r_close * 1800)::int) * interval '1 second' AS closed
          FROM fig_plan p
          JOIN fig_member e ON e.group_id = p.entry_group AND e.idx = p.op
          JOIN fig_member lapsed ON lapsed.group_id = p.entry_group AND lapsed.idx = (p.op + 1) %% %(per_group)s
          JOIN fig_member s ON s.group_id = p.spec_group AND s.idx = p.op
        """,
        {"per_group": OPERATORS_PER_GROUP},
    )
    cr.execute("ALTER TABLE fig_session ADD PRIMARY KEY (id); ANALYZE fig_session")
    print(f"  plan drawn ({time.perf_counter() - started:.0f} s)", flush=True)

    def copy(table, template_id, overrides, source, params=None):
        rows = copy_rows(cr, table, template_id, overrides, source, params)
        print(f"  {rows} rows in {table} ({time.perf_counter() - started:.0f} s)", flush=True)

    odoobot = env.ref("base.partner_root").id
    copy(
        "discuss_channel",
        template.id,
        {
            "id": "s.id",
            "name": "'Figures session ' || s.g",
            "uuid": "md5(s.id::text || random()::text)",
            "create_date": "s.created",
            "write_date": "s.created",
            "last_interest_dt": "s.created",
            "livechat_channel_id": "s.lc",
            "livechat_group_id": "s.final_group",
            "livechat_operator_id": "CASE WHEN s.queued THEN %(odoobot)s "
            "WHEN s.forwarded THEN s.spec_partner ELSE s.entry_partner END",
            "livechat_operator_user_id": "CASE WHEN s.queued THEN NULL "
            "WHEN s.forwarded THEN s.spec_user ELSE s.entry_user END",
            "livechat_routing_state": "CASE WHEN s.queued THEN 'queued' WHEN s.open THEN 'assigned' ELSE 'closed' END",
            "livechat_active": "s.open",
            "livechat_visitor_name": "'Visitor ' || s.g",
            "livechat_queued_date": "s.created",
            "livechat_assigned_date": "CASE WHEN s.queued THEN NULL ELSE s.created + s.wait_s * interval '1 second' END",
            "livechat_first_answer_date": "CASE WHEN s.queued THEN NULL ELSE s.replied END",
            "livechat_closed_date": "CASE WHEN s.open THEN NULL ELSE s.closed END",
            "livechat_medium": "s.medium",
        },
        "fig_session s",
        {"odoobot": odoobot},
    )
    # the hops: routed (to the operator who let it lapse, when it timed out), the timeout, the forward
    hop_base = {
        "session_id": "s.id",
        "note": "NULL",
        "reason_data": "NULL",
    }
    copy(
        "livechat_session_transfer",
        hop.id,
        dict(
            hop_base,
            kind="'route'",
            from_group_id="NULL",
            to_group_id="s.entry_group",
            from_user_id="NULL",
            to_user_id="CASE WHEN s.queued THEN NULL WHEN s.timeout THEN s.lapsed_user ELSE s.entry_user END",
            create_date="s.created + s.wait_s * interval '1 second'",
            write_date="s.created",
        ),
        "fig_session s",
    )
    copy(
        "livechat_session_transfer",
        hop.id,
        dict(
            hop_base,
            kind="'timeout'",
            from_group_id="s.entry_group",
            to_group_id="s.entry_group",
            from_user_id="s.lapsed_user",
            to_user_id="s.entry_user",
            create_date="s.created + (s.wait_s + 120) * interval '1 second'",
            write_date="s.created",
        ),
        "(SELECT * FROM fig_session WHERE timeout AND NOT queued) s",
    )
    copy(
        "livechat_session_transfer",
        hop.id,
        dict(
            hop_base,
            kind="'forward'",
            from_group_id="s.entry_group",
            to_group_id="s.spec_group",
            from_user_id="s.entry_user",
            to_user_id="s.spec_user",
            create_date="s.forwarded_at",
            write_date="s.forwarded_at",
        ),
        "(SELECT * FROM fig_session WHERE forwarded) s",
    )
    # the messages: the visitor's question, the operator's reply, the specialist's answer
    message_base = {
        "res_id": "s.id",
        "message_id": "md5(s.id::text || random()::text)",
    }
    for author, at, source in (
        ("NULL", "s.created", "fig_session s"),
        ("s.entry_partner", "s.replied", "(SELECT * FROM fig_session WHERE NOT queued) s"),
        (
            "s.spec_partner",
            "s.forwarded_at + interval '1 minute'",
            "(SELECT * FROM fig_session WHERE forwarded) s",
        ),
    ):
        copy(
            "mail_message",
            message.id,
            dict(message_base, author_id=author, create_date=at, write_date=at, date=at),
            source,
        )
    cr.execute("ANALYZE discuss_channel; ANALYZE livechat_session_transfer; ANALYZE mail_message")
    fill_started = time.perf_counter()
    count = env["livechat.session.report"]._livechat_refresh_facts()
    cr.execute("ANALYZE livechat_session_report_fact")
    print(
        f"  facts of {count} sessions stored in {time.perf_counter() - fill_started:.0f} s "
        f"(what the migration to 18.0.1.1.0 does); built in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    cr.commit()


def percentiles(timings):
    timings = sorted(timings)
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.95))]


def timed(env, run, runs):
    """``run`` once (the first read of the process), then ``runs`` times on a cleared ORM
    cache: ``(first ms, p50 ms, p95 ms)``."""
    timings = []
    for _ in range(runs + 1):
        env.invalidate_all()
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return (timings[0], *percentiles(timings[1:]))


def old_view_sql():
    """The report's view before 18.0.1.1.0: every figure computed from the hops and messages of
    each session at every read (from the fact refresh's query, whose computation it was)."""
    return """
        SELECT c.id AS id, c.create_date AS date, c.livechat_channel_id, entry.to_group_id AS group_id,
               c.livechat_operator_user_id AS operator_id,
               EXTRACT(EPOCH FROM hop.first_assigned - LEAST(c.create_date, hop.first_assigned)) / 60 AS waiting_time,
               EXTRACT(EPOCH FROM reply.first_reply - LEAST(c.create_date, reply.first_reply)) / 60 AS first_reply_time,
               hop.forwards::float AS forward_count, hop.timeouts AS timeout_count,
               CASE WHEN c.livechat_routing_state != 'closed' OR hop.first_assigned IS NULL THEN NULL
                    WHEN EXISTS (SELECT 1 FROM im_livechat_channel_entry_group_rel r
                                  WHERE r.channel_id = c.livechat_channel_id AND r.group_id = c.livechat_group_id)
                    THEN 100.0 ELSE 0.0 END AS resolved_in_entry
          FROM discuss_channel c
     LEFT JOIN LATERAL (SELECT t.to_group_id FROM livechat_session_transfer t
                         WHERE t.session_id = c.id ORDER BY t.id LIMIT 1) entry ON TRUE
     LEFT JOIN LATERAL (SELECT MIN(t.create_date) FILTER (WHERE t.to_user_id IS NOT NULL) AS first_assigned,
                               COUNT(*) FILTER (WHERE t.kind = 'forward') AS forwards,
                               COUNT(*) FILTER (WHERE t.kind = 'timeout') AS timeouts
                          FROM livechat_session_transfer t WHERE t.session_id = c.id) hop ON TRUE
     LEFT JOIN LATERAL (SELECT MIN(m.create_date) AS first_reply
                          FROM mail_message m
                          JOIN res_users u ON u.partner_id = m.author_id
                     LEFT JOIN mail_message_subtype st ON st.id = m.subtype_id
                         WHERE m.model = 'discuss.channel' AND m.res_id = c.id AND m.message_type = 'comment'
                           AND m.is_internal IS NOT TRUE AND st.internal IS NOT TRUE
                           AND u.id IN (SELECT t.to_user_id FROM livechat_session_transfer t
                                         WHERE t.session_id = c.id)) reply ON TRUE
         WHERE c.channel_type = 'livechat' AND c.livechat_routing_state IS NOT NULL
    """


def measure_figures(env, runs, slow_runs):
    """Rows of the figures table: (what, sessions read, first ms, p50 ms, p95 ms)."""
    # the Group Figures action's measures, as its pivot asks for them
    measures = env["livechat.session.report"]._livechat_pivot_measures()
    supervisor = env["res.users"].search([("login", "=", "fig_supervisor")])
    Report = env["livechat.session.report"].with_user(supervisor)
    Stock = env["im_livechat.report.channel"]
    now = datetime.utcnow()
    this_month = [("date", ">=", now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))]
    total = Report.search_count([])
    in_month = Report.search_count(this_month)
    rows = []

    def pivot(domain):
        def run():
            for groupby in PIVOT_LEVELS:
                Report.read_group(domain, measures, groupby, lazy=False)

        return run

    def pivot_as_loaded(domain):
        # the web client reads the total, then every other level at once (one request each):
        # each on a connection of its own, as the server's workers would
        def read(groupby):
            with env.registry.cursor() as cr:
                Env = api.Environment(cr, supervisor.id, {})
                Env["livechat.session.report"].read_group(domain, measures, groupby, lazy=False)

        def run():
            Report.read_group(domain, measures, PIVOT_LEVELS[0], lazy=False)
            threads = [threading.Thread(target=read, args=(groupby,)) for groupby in PIVOT_LEVELS[1:]]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        return run

    def same_statement(domain):
        # the percentile in the statement of the other figures, as before 18.0.1.2.0 (a
        # percentile that filters the groups is still read that way)
        def run():
            for groupby in PIVOT_LEVELS:
                Report._read_group(domain, groupby, measures, having=[("__count", ">", 0)])

        return run

    def ours(groupby, domain=()):
        return lambda: Report.read_group(list(domain), measures, groupby, lazy=False)

    rows.append(("ours: pivot as opened, no date filter (3 read_group)", total, *timed(env, pivot([]), runs)))
    rows.append(
        ("ours: the same, total then 2 levels at once", total, *timed(env, pivot_as_loaded([]), runs))
    )
    # the same pivot by the read paths the rollup stands in front of (see _read_group)
    Model = type(Report)
    no_rollup = patch.object(Model, "_read_group_rollup", lambda *args, **kwargs: None)
    with no_rollup:
        rows.append(
            ("ours: the same, sessions counted in one pass (no rollup)", total, *timed(env, pivot([]), runs))
        )
    with no_rollup, patch.object(Model, "_read_group_cells_bound", lambda *args, **kwargs: None):
        rows.append(
            ("ours: the same, in two statements (18.0.1.2.0)", total, *timed(env, pivot([]), slow_runs))
        )
    rows.append(
        (
            "ours: the same, p90 in one statement (18.0.1.1.0)",
            total,
            *timed(env, same_statement([]), slow_runs),
        )
    )
    rows.append(
        ("ours: pivot as opened, this month (its default)", in_month, *timed(env, pivot(this_month), runs))
    )
    for label, groupby in (
        ("live chat", ["livechat_channel_id"]),
        ("live chat x entry group", ["livechat_channel_id", "group_id"]),
        ("operator", ["operator_id"]),
        ("month", ["date:month"]),
    ):
        rows.append((f"ours: by {label}", total, *timed(env, ours(groupby), runs)))

    # the figures computed at read time, as the report's view did before 18.0.1.1.0
    def old(groupby):
        def run():
            env.cr.execute("SET LOCAL jit = off")
            env.cr.execute(
                f"SELECT {groupby} count(*), avg(waiting_time), percentile_cont(0.9) WITHIN GROUP "
                "(ORDER BY waiting_time), avg(first_reply_time), avg(forward_count), avg(resolved_in_entry), "
                f"sum(timeout_count) FROM ({old_view_sql()}) r {'GROUP BY 1' if groupby else ''}"
            )
            env.cr.fetchall()

        return run

    rows.append(("before: computed at read, total", total, *timed(env, old(""), slow_runs)))
    rows.append(
        ("before: computed at read, by live chat", total, *timed(env, old("livechat_channel_id,"), slow_runs))
    )

    # stock's session statistics (Live Chat > Report > Sessions) over the same sessions
    stock_total = Stock.search_count([])

    def stock(groupby):
        return lambda: Stock.read_group([], STOCK_MEASURES, groupby, lazy=False)

    for label, groupby in (("live chat", ["livechat_channel_id"]), ("operator", ["partner_id"])):
        rows.append(
            (
                f"stock im_livechat.report.channel: by {label}",
                stock_total,
                *timed(env, stock(groupby), slow_runs),
            )
        )
    return rows


def board_spec(env):
    """The board kanban's fields, as the web client asks for them (many2one: their name)."""
    from lxml import etree

    view = env.ref("livechat_groups.discuss_channel_view_kanban_livechat_supervision")
    Channel = env["discuss.channel"]
    spec = {}
    for node in etree.fromstring(view.arch.encode()).iter("field"):
        name = node.get("name")
        field = Channel._fields[name]
        spec[name] = {"fields": {"display_name": {}}} if field.type == "many2one" else {}
    return spec


def measure_board(env, open_sessions, runs):
    """The board as a supervisor opens it, on all the open sessions and on a tenth of them:
    ``[(open sessions, read, queries, p50 ms, p95 ms)]``."""
    supervisor = env["res.users"].search([("login", "=", "fig_supervisor")])
    Board = env["discuss.channel"].with_user(supervisor)
    spec = board_spec(env)
    today = datetime.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    domain = [
        ("livechat_supervised", "=", True),
        "|",
        ("livechat_routing_state", "in", ("queued", "assigned")),
        ("livechat_closed_date", ">=", today),
    ]
    cr = env.cr

    def read_board():
        columns = Board.web_read_group(
            domain, ["livechat_routing_state"], ["livechat_routing_state"], lazy=True
        )
        for column in columns["groups"]:
            Board.web_search_read(column["__domain"], spec, limit=CARDS_PER_COLUMN)

    def read_column(limit):
        return lambda: Board.web_search_read(
            [*domain, ("livechat_routing_state", "=", "assigned")], spec, limit=limit
        )

    def sample(run):
        queries = set()
        timings = []
        run()  # warm the registry's caches (views, access rules)
        for _ in range(runs):
            env.invalidate_all()
            before = cr.sql_log_count
            start = time.perf_counter()
            run()
            timings.append((time.perf_counter() - start) * 1000)
            queries.add(cr.sql_log_count - before)
        return "/".join(str(q) for q in sorted(queries)), *percentiles(timings)

    rows = []
    for fraction in (1, 10):
        cr.execute("SAVEPOINT bench_board")
        if fraction > 1:
            # close nine open sessions in ten, a day ago: off the board
            cr.execute(
                """
                UPDATE discuss_channel SET livechat_routing_state = 'closed', livechat_active = FALSE,
                       livechat_closed_date = now() AT TIME ZONE 'UTC' - interval '1 day'
                 WHERE livechat_routing_state IN ('queued', 'assigned') AND name LIKE 'Figures session %%'
                   AND mod(id, %s) <> 0
                """,
                (fraction,),
            )
            env.invalidate_all()
        count = Board.search_count(domain)
        rows.append((count, "board: columns + 40 cards each", *sample(read_board)))
        rows.append((count, "one column, 10 cards", *sample(read_column(10))))
        rows.append((count, "one column, 40 cards", *sample(read_column(40))))
        cr.execute("ROLLBACK TO SAVEPOINT bench_board")
        env.invalidate_all()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000000)
    parser.add_argument("--open", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of the reads that take seconds")
    args = parser.parse_args()

    db_registry = registry(DB)
    with db_registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        build(env, args.sessions, args.open)
    with db_registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        figures = measure_figures(env, args.runs, args.slow_runs)
        cr.rollback()
    with db_registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        board = measure_board(env, args.open, args.runs)
        cr.rollback()

    print()
    print(
        f"Group Figures at size: first read, then p50/p95 of {args.runs} runs ({args.slow_runs} for the slow ones)"
    )
    print(f"{'read':>55} | {'sessions':>9} | {'first ms':>9} | {'p50 ms':>9} | {'p95 ms':>9}")
    print(" | ".join(("-" * 55, "-" * 9, "-" * 9, "-" * 9, "-" * 9)))
    for label, sessions, first, p50, p95 in figures:
        print(f"{label:>55} | {sessions:>9} | {first:>9.0f} | {p50:>9.0f} | {p95:>9.0f}")
    print()
    print(f"Supervision board as a supervisor ({args.runs} runs): SQL queries and time")
    print(f"{'open sessions':>13} | {'read':>32} | {'queries':>8} | {'p50 ms':>8} | {'p95 ms':>8}")
    print(" | ".join(("-" * 13, "-" * 32, "-" * 8, "-" * 8, "-" * 8)))
    for count, label, queries, p50, p95 in board:
        print(f"{count:>13} | {label:>32} | {queries:>8} | {p50:>8.1f} | {p95:>8.1f}")


if __name__ == "__main__":
    main()
