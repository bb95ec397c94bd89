from odoo import api, models
from odoo.models import parse_read_group_spec
from odoo.osv import expression
from odoo.tools import SQL, Query

from .livechat_session_report_fact import FACTS_TABLE

# the closed sessions' figures summed per value of what the pivot groups them by (see
# LivechatSessionReportRollup), and the trigger function that keeps them in step with the facts
ROLLUP_TABLE = "livechat_session_report_rollup"
ROLLUP_FUNCTION = "livechat_session_report_rollup_sync"
# what a closed session is summed by: the report's fields that the rollup can group and filter
ROLLUP_KEYS = ("livechat_channel_id", "group_id", "final_group_id", "operator_id", "medium", "state")
# the figures summed, with the type of their sums: their count (of sessions that have one) is kept too
ROLLUP_MEASURES = {
    "waiting_time": "double precision",
    "first_reply_time": "double precision",
    "forward_count": "double precision",
    "resolved_in_entry": "double precision",
    "answered_in_target": "double precision",
    "target_breaches": "bigint",
    "timeout_count": "bigint",
    "satisfaction": "double precision",
}
# the percentile read from the rollup: the waiting time, by value to the field's digits
ROLLUP_PERCENTILE = ("waiting_time_p90", "waiting_time")


class LivechatSessionReportRollup(models.Model):
    """The Group Figures of closed sessions, summed as they close.

    A closed session's figures no longer depend on the clock, so they can be summed ahead of the
    read: one row per live chat, entry group, last group, operator, channel, state and waiting
    time (to a hundredth of a minute, the percentile's steps) holds how many sessions have those,
    and the sum and count of each of their figures. Over a million sessions, a hundred thousand
    such rows give the pivot what a scan of every session gives, percentile included.

    A PostgreSQL trigger on the facts keeps the rollup in step, whatever writes them: the
    refresh, the copy of a live chat's settings, a deleted session or live chat. It only ever
    appends what a statement changed (rows of signed sums): two transactions closing sessions
    alike never write the same row, so neither waits for the other nor fails to serialize. A
    key may thus have several rows, which the reads sum; a scheduled action folds them into
    one (:meth:`_cron_livechat_rollup_fold`). A read whose domain, record rules and groups use
    only those fields reads the rollup, with the sessions still open read from the facts
    (:meth:`_read_group_rollup`).
    """

    _inherit = "livechat.session.report"

    def init(self):
        res = super().init()
        cr = self.env.cr
        measures = SQL(", ").join(
            SQL(
                "%s %s NOT NULL DEFAULT 0, %s integer NOT NULL DEFAULT 0",
                SQL.identifier(f"{name}_sum"),
                SQL(sum_type),
                SQL.identifier(f"{name}_count"),
            )
            for name, sum_type in ROLLUP_MEASURES.items()
        )
        cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %(rollup)s (
                    livechat_channel_id integer,
                    group_id integer,
                    final_group_id integer,
                    operator_id integer,
                    medium varchar,
                    state varchar,
                    step double precision,
                    sessions integer NOT NULL DEFAULT 0,
                    %(measures)s
                )
                """,
                rollup=SQL.identifier(ROLLUP_TABLE),
                measures=measures,
            )
        )
        # a figure added since the table was made (18.0.1.6.0: satisfaction): summed by the rebuild below
        for name, sum_type in ROLLUP_MEASURES.items():
            cr.execute(
                SQL(
                    "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s NOT NULL DEFAULT 0,"
                    " ADD COLUMN IF NOT EXISTS %s integer NOT NULL DEFAULT 0",
                    SQL.identifier(ROLLUP_TABLE),
                    SQL.identifier(f"{name}_sum"),
                    SQL(sum_type),
                    SQL.identifier(f"{name}_count"),
                )
            )
        # the rows of a key, to fold them (none as 0, '' or -1: NULLs are never equal)
        cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
                SQL.identifier(f"{ROLLUP_TABLE}_key_index"),
                SQL.identifier(ROLLUP_TABLE),
                self._livechat_rollup_key(),
            )
        )
        self._livechat_rollup_trigger()
        # summed again at each install and update: seconds per million sessions, and whatever
        # wrote the facts behind the trigger's back (a restore, a hand-made fix) is caught up
        self._livechat_rollup_rebuild()
        return res

    # ------------------------------------------------------------
    # Keeping the rollup in step with the facts
    # ------------------------------------------------------------

    @api.model
    def _livechat_rollup_key(self):
        """The SQL of a rollup row's key: its columns, none as 0 (or '', or -1 for the step)."""
        keys = [SQL("COALESCE(%s, 0)", SQL.identifier(key)) for key in ROLLUP_KEYS[:4]]
        keys += [SQL("COALESCE(%s, '')", SQL.identifier(key)) for key in ROLLUP_KEYS[4:]]
        return SQL(", ").join([*keys, SQL("COALESCE(step, -1)")])

    @api.model
    def _livechat_rollup_scale(self):
        """How many steps a unit of the percentile's field has (100: a hundredth of a minute)."""
        return self._read_group_percentile_scale(self._fields[ROLLUP_PERCENTILE[0]])

    @api.model
    def _livechat_rollup_sums(self, rows):
        """The statement that appends ``rows`` to the rollup, summed per key: SQL of rows with
        the facts' columns, each with a ``sign`` (1 to add it, -1 to take it away). Closed
        sessions only; a key whose sums do not change gets no row, so a session written again
        unchanged writes nothing."""
        sums = [SQL("SUM(c.sign) AS sessions")]
        changed = [SQL("SUM(c.sign) != 0")]
        for name in ROLLUP_MEASURES:
            total = SQL("SUM(c.sign * COALESCE(%s, 0))", SQL.identifier("c", name))
            count = SQL("SUM(c.sign * (%s IS NOT NULL)::int)", SQL.identifier("c", name))
            sums += [total, count]
            changed += [SQL("%s != 0", total), SQL("%s != 0", count)]
        columns = [*ROLLUP_KEYS, "step", "sessions"]
        columns += [f"{name}_{part}" for name in ROLLUP_MEASURES for part in ("sum", "count")]
        keys = SQL(", ").join(SQL.identifier("c", key) for key in ROLLUP_KEYS)
        return SQL(
            """
            INSERT INTO %(rollup)s (%(columns)s)
            SELECT %(keys)s, round(c.waiting_time * %(scale)s) AS step, %(sums)s
              FROM (%(rows)s) c
             WHERE c.closed_date IS NOT NULL
          GROUP BY %(keys)s, step
            HAVING %(changed)s
            """,
            rollup=SQL.identifier(ROLLUP_TABLE),
            columns=SQL(", ").join(map(SQL.identifier, columns)),
            keys=keys,
            scale=self._livechat_rollup_scale(),
            sums=SQL(", ").join(sums),
            rows=rows,
            changed=SQL(" OR ").join(changed),
        )

    @api.model
    def _livechat_rollup_trigger(self):
        """(Re)create the trigger function and its three statement triggers on the facts: the
        rows each statement inserted, updated (old and new) or deleted, added or taken away."""
        cr = self.env.cr
        new = SQL("SELECT 1 AS sign, * FROM livechat_new_facts")
        old = SQL("SELECT -1 AS sign, * FROM livechat_old_facts")
        # most statements write open sessions only (a message, a hop): they skip the sums
        any_closed = {
            table: SQL("EXISTS (SELECT 1 FROM %s WHERE closed_date IS NOT NULL)", SQL.identifier(table))
            for table in ("livechat_new_facts", "livechat_old_facts")
        }
        cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION %(function)s() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        IF %(new_closed)s THEN
                            %(insert)s;
                        END IF;
                    ELSIF TG_OP = 'UPDATE' THEN
                        IF %(new_closed)s OR %(old_closed)s THEN
                            %(update)s;
                        END IF;
                    ELSIF %(old_closed)s THEN
                        %(delete)s;
                    END IF;
                    RETURN NULL;
                END
                $body$
                """,
                function=SQL.identifier(ROLLUP_FUNCTION),
                new_closed=any_closed["livechat_new_facts"],
                old_closed=any_closed["livechat_old_facts"],
                insert=self._livechat_rollup_sums(new),
                update=self._livechat_rollup_sums(SQL("%s UNION ALL %s", new, old)),
                delete=self._livechat_rollup_sums(old),
            )
        )
        for event, tables in (
            ("INSERT", "NEW TABLE AS livechat_new_facts"),
            ("UPDATE", "OLD TABLE AS livechat_old_facts NEW TABLE AS livechat_new_facts"),
            ("DELETE", "OLD TABLE AS livechat_old_facts"),
        ):
            trigger = SQL.identifier(f"{ROLLUP_FUNCTION}_{event.lower()}")
            cr.execute(SQL("DROP TRIGGER IF EXISTS %s ON %s", trigger, SQL.identifier(FACTS_TABLE)))
            cr.execute(
                SQL(
                    "CREATE TRIGGER %s AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION %s()",
                    trigger,
                    SQL(event),
                    SQL.identifier(FACTS_TABLE),
                    SQL(tables),
                    SQL.identifier(ROLLUP_FUNCTION),
                )
            )

    @api.model
    def _livechat_rollup_rebuild(self):
        """Sum every closed session's facts again, in one row per key (emptied by TRUNCATE: a
        DELETE would leave the table twice its size until vacuumed, and every read slower)."""
        self.env.flush_all()
        self.env.cr.execute(SQL("TRUNCATE %s", SQL.identifier(ROLLUP_TABLE)))
        self.env.cr.execute(
            self._livechat_rollup_sums(SQL("SELECT 1 AS sign, * FROM %s", SQL.identifier(FACTS_TABLE)))
        )

    @api.model
    def _cron_livechat_rollup_fold(self):
        """Fold the rows of each key that has several into one (the scheduled action): the
        appended rows of the sessions closed since, summed. One statement: the rows it takes
        away and the one it adds commit together; rows appended meanwhile wait for the next run.

        :return: the number of keys folded
        """
        counts = [f"{name}_count" for name in ROLLUP_MEASURES]
        columns = [*ROLLUP_KEYS, "step", "sessions"]
        columns += [f"{name}_{part}" for name in ROLLUP_MEASURES for part in ("sum", "count")]
        key = self._livechat_rollup_key()
        self.env.cr.execute(
            SQL(
                """
                WITH folded AS (
                    DELETE FROM %(rollup)s
                     WHERE (%(key)s) IN (SELECT %(key)s FROM %(rollup)s GROUP BY %(key)s HAVING COUNT(*) > 1)
                 RETURNING *
                )
                INSERT INTO %(rollup)s (%(columns)s)
                SELECT %(keys)s, step, %(sums)s
                  FROM folded
              GROUP BY %(keys)s, step
                -- a key whose sessions all went (a float sum may keep a trace of them)
                HAVING SUM(sessions) != 0 OR %(counted)s
                """,
                rollup=SQL.identifier(ROLLUP_TABLE),
                key=key,
                columns=SQL(", ").join(map(SQL.identifier, columns)),
                keys=SQL(", ").join(map(SQL.identifier, ROLLUP_KEYS)),
                sums=SQL(", ").join(
                    SQL("SUM(%s)", SQL.identifier(column)) for column in columns[len(ROLLUP_KEYS) + 1 :]
                ),
                counted=SQL(" OR ").join(SQL("SUM(%s) != 0", SQL.identifier(count)) for count in counts),
            )
        )
        return self.env.cr.rowcount

    # ------------------------------------------------------------
    # Reading it
    # ------------------------------------------------------------

    @api.model
    def _livechat_rollup_sql(self):
        """The sessions as the rollup gives them: its rows (closed sessions, summed; a key's rows
        add up), then each open session as a row of its own, read from the report's view (its
        target is decided by the clock). Each row stands for ``__sessions`` sessions (it may
        take some away) whose waiting time is ``__step`` steps, with the sum and count of each
        figure."""
        keys = SQL(", ").join(map(SQL.identifier, ROLLUP_KEYS))
        closed = [
            SQL("%s AS %s", SQL.identifier(f"{name}_{part}"), SQL.identifier(f"{name}_{part}"))
            for name in ROLLUP_MEASURES
            for part in ("sum", "count")
        ]
        open_ = [
            SQL(
                "COALESCE(%s, 0)::%s, (%s IS NOT NULL)::int",
                SQL.identifier("o", name),
                SQL(sum_type),
                SQL.identifier("o", name),
            )
            for name, sum_type in ROLLUP_MEASURES.items()
        ]
        return SQL(
            """
            SELECT %(keys)s, step AS __step, sessions AS __sessions, %(closed)s
              FROM %(rollup)s
         UNION ALL
            SELECT %(open_keys)s, round(o.waiting_time * %(scale)s), 1, %(open)s
              FROM %(report)s o
             WHERE o.closed_date IS NULL
            """,
            keys=keys,
            closed=SQL(", ").join(closed),
            rollup=SQL.identifier(ROLLUP_TABLE),
            open_keys=SQL(", ").join(SQL.identifier("o", key) for key in ROLLUP_KEYS),
            scale=self._livechat_rollup_scale(),
            open=SQL(", ").join(open_),
            report=SQL.identifier(self._table),
        )

    def _read_group_rollup(self, domain, groupby, aggregates, percentiles, offset, limit, order):
        """Read from the rollup when it holds all the read needs: the domain and the record
        rules filter, and the groups are made of, its keys only; the aggregates are counts, sums
        and averages of its figures, and the percentile, only one, is the waiting time's.

        :return: the rows as :meth:`_read_group` returns them, or None when the read needs
            the sessions themselves
        """
        percentile_spec = self._read_group_one_percentile(domain, percentiles)
        if not percentile_spec:
            return None
        rules = self.env["ir.rule"]._compute_domain(self._name, "read") or []
        for leaf in [*domain, *rules]:
            if (
                expression.is_leaf(leaf)
                and isinstance(leaf[0], str)
                and leaf[0].split(".", 1)[0] not in ROLLUP_KEYS
            ):
                return None
        if parse_read_group_spec(percentile_spec)[0] != ROLLUP_PERCENTILE[0]:
            return None
        for spec in groupby:
            if spec not in ROLLUP_KEYS:
                return None
        for spec in aggregates:
            if spec in ("__count", percentile_spec):
                continue
            fname, __, func = parse_read_group_spec(spec)
            if fname not in ROLLUP_MEASURES or func not in ("sum", "avg", "count"):
                return None
        self.browse().check_access("read")
        query = Query(self.env, self._table, SQL("(%s)", self._livechat_rollup_sql()))
        if domain:
            expression.expression(domain, self, query=query)
        self._apply_ir_rules(query, "read")
        return self._read_group_counted(
            query, groupby, aggregates, percentile_spec, offset, limit, order, rollup=True
        )
