from odoo import api, fields, models, tools
from odoo.models import parse_read_group_spec
from odoo.osv import expression
from odoo.tools import SQL

# the stored per-session facts behind the report's view, and the sessions whose facts this
# transaction must compute again (cr.precommit.data)
FACTS_TABLE = "livechat_session_report_fact"
PENDING_KEY = "livechat_groups.report_sessions"
# the facts of a session, in the order the refresh computes them (after its session_id)
FACT_COLUMNS = (
    "date",
    "livechat_channel_id",
    "group_id",
    "final_group_id",
    "operator_id",
    "state",
    "medium",
    "closed_date",
    "first_reply",
    "waiting_time",
    "first_reply_time",
    "forward_count",
    "timeout_count",
    "answer_target_minutes",
    "in_entry_group",
)
# the fraction that the "p90" aggregator computes
PERCENTILE = 0.9
# up to this many cells, a percentile is found in the counts of each value of each cell; beyond,
# those counts are nearly as many as the sessions, and sorting the values is cheaper (make bench:
# over 1,000,000 sessions, 3 cells take 0.15 s counted and 0.5 s sorted, 2,451 cells 2.4 s and 0.8 s)
PERCENTILE_COUNTED_CELLS = 100


class LivechatSessionReport(models.Model):
    """Per-group figures of live chat sessions: one row per session of a grouped live chat.

    Averages and shares are aggregated by PostgreSQL at any grouping level. The 90th percentile
    of the waiting time cannot be derived from the percentiles of sub-groups, so it is not stored
    per row and averaged: it is computed over the sessions of each cell of the pivot or bar of the
    graph (the ``p90`` aggregator), exactly, over the values rounded to the field's digits (a
    hundredth of a minute: below the second that the view shows). See ``_read_group``.

    The facts that take a session's history to compute (its entry group, waiting time, first
    reply, forwards, timeouts) are stored in ``livechat_session_report_fact``, one row per
    session, computed again whenever the routing writes the session, one of its hops or one of
    its messages (``_livechat_mark_sessions``); the view adds what depends on the clock and on
    the live chat's settings. Over a million sessions, the pivot reads one narrow table.
    """

    _name = "livechat.session.report"
    _description = "Live Chat Group Figures"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "session_id"

    session_id = fields.Many2one(comodel_name="discuss.channel", readonly=True)
    date = fields.Datetime(string="Started On", readonly=True)
    livechat_channel_id = fields.Many2one(
        comodel_name="im_livechat.channel", string="Live Chat", readonly=True
    )
    group_id = fields.Many2one(
        comodel_name="livechat.group",
        string="Entry Group",
        readonly=True,
        help="The group the request came in through.",
    )
    final_group_id = fields.Many2one(
        comodel_name="livechat.group",
        string="Last Group",
        readonly=True,
        help="The group that holds the session now, or held it last.",
    )
    operator_id = fields.Many2one(comodel_name="res.users", readonly=True)
    medium = fields.Selection(
        selection=[("website", "Website"), ("whatsapp", "WhatsApp"), ("telegram", "Telegram")],
        string="Channel",
        readonly=True,
        help="Where the customer wrote from.",
    )
    state = fields.Selection(
        selection=[("queued", "Waiting"), ("assigned", "In Progress"), ("closed", "Closed")],
        string="Routing State",
        readonly=True,
    )
    waiting_time = fields.Float(
        string="Waiting Time (mm:ss)",
        digits=(16, 2),
        aggregator="avg",
        readonly=True,
        help="Minutes from the request to the first operator who got it; empty while nobody got it.",
    )
    waiting_time_p90 = fields.Float(
        string="Waiting Time, 90th Percentile (mm:ss)",
        digits=(16, 2),
        aggregator="p90",
        readonly=True,
        help="Nine sessions out of ten waited at most this long: computed over the sessions of "
        "each cell, never averaged.",
    )
    first_reply_time = fields.Float(
        string="Time to First Reply (mm:ss)",
        digits=(16, 2),
        aggregator="avg",
        readonly=True,
        help="Minutes from the request to the first message of an operator who got the session.",
    )
    forward_count = fields.Float(
        string="Forwards per Session",
        digits=(16, 2),
        aggregator="avg",
        readonly=True,
        help="How many times the sessions were forwarded, on average.",
    )
    resolved_in_entry = fields.Float(
        string="Closed in Entry Group (%)",
        digits=(16, 1),
        aggregator="avg",
        readonly=True,
        help="Among the closed sessions an operator got, the share that ended in an entry group, never "
        "forwarded to specialists (or forwarded back). Open sessions do not count until they close.",
    )

    answered_in_target = fields.Float(
        string="Answered within Target (%)",
        digits=(16, 1),
        aggregator="avg",
        readonly=True,
        help="Share of the sessions first answered within their live chat's first-answer target. "
        "Counted once decided: answered, or past the target without an answer; live chats "
        "without a target are left out.",
    )
    target_breaches = fields.Integer(
        aggregator="sum",
        readonly=True,
        help="Sessions first answered later than their live chat's target, or not answered by then.",
    )
    timeout_count = fields.Integer(
        string="No Answer Timeouts",
        aggregator="sum",
        readonly=True,
        help="How many times an operator who got the session did not answer in time and it went "
        "to another (see Routing Hops for who let it lapse).",
    )

    def init(self):
        cr = self.env.cr
        tools.drop_view_if_exists(cr, self._table)
        # The facts of each session that take its history to compute (hops, first reply) are
        # stored as the routing writes them (see _livechat_refresh_facts): the pivot then reads
        # one narrow table instead of three lookups per session (make bench: 1,000,000 sessions).
        cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %(facts)s (
                    session_id integer PRIMARY KEY REFERENCES discuss_channel (id) ON DELETE CASCADE,
                    date timestamp,
                    livechat_channel_id integer REFERENCES im_livechat_channel (id) ON DELETE SET NULL,
                    group_id integer REFERENCES livechat_group (id) ON DELETE SET NULL,
                    final_group_id integer REFERENCES livechat_group (id) ON DELETE SET NULL,
                    operator_id integer REFERENCES res_users (id) ON DELETE SET NULL,
                    state varchar,
                    medium varchar,
                    closed_date timestamp,
                    first_reply timestamp,
                    waiting_time double precision,
                    first_reply_time double precision,
                    forward_count integer,
                    timeout_count integer
                )
                """,
                facts=SQL.identifier(FACTS_TABLE),
            )
        )
        # the live chat's settings that the figures depend on, copied so that a read joins
        # nothing (18.0.1.2.0); kept in step by _livechat_refresh_settings when they change
        cr.execute(
            SQL(
                """
                ALTER TABLE %(facts)s
                    ADD COLUMN IF NOT EXISTS answer_target_minutes integer,
                    ADD COLUMN IF NOT EXISTS in_entry_group boolean
                """,
                facts=SQL.identifier(FACTS_TABLE),
            )
        )
        for column in ("date", "livechat_channel_id", "operator_id"):
            tools.create_index(cr, f"{FACTS_TABLE}_{column}_index", FACTS_TABLE, [column])
        # Only what depends on the clock (a target not yet reached) is computed at read time,
        # from the session's own row: the pivot joins nothing.
        cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %(table)s AS (
                    SELECT f.session_id AS id,
                           f.session_id,
                           f.date,
                           f.livechat_channel_id,
                           f.group_id,
                           f.final_group_id,
                           f.operator_id,
                           f.state,
                           f.medium,
                           f.waiting_time,
                           f.waiting_time AS waiting_time_p90,
                           f.first_reply_time,
                           f.forward_count::float AS forward_count,
                           f.timeout_count,
                           -- decided once answered, or once past the target without an answer
                           CASE WHEN target.minutes IS NULL THEN NULL
                                WHEN f.first_reply IS NOT NULL
                                    THEN CASE WHEN f.first_reply <= target.due THEN 100.0 ELSE 0.0 END
                                WHEN COALESCE(f.closed_date, now() AT TIME ZONE 'UTC') > target.due
                                    THEN 0.0
                                END AS answered_in_target,
                           CASE WHEN target.minutes IS NULL THEN NULL
                                WHEN COALESCE(f.first_reply, f.closed_date, now() AT TIME ZONE 'UTC')
                                    > target.due THEN 1
                                ELSE 0 END AS target_breaches,
                           -- over closed sessions that an operator got: an open one is not
                           -- resolved yet, an abandoned one was never answered; an entry group
                           -- that took the overflow is still an entry group
                           CASE WHEN f.state != 'closed' OR f.waiting_time IS NULL THEN NULL
                                WHEN f.in_entry_group AND f.final_group_id IS NOT NULL THEN 100.0
                                ELSE 0.0 END AS resolved_in_entry
                      FROM %(facts)s f
                -- a deleted live chat (or group) leaves its sessions without target (or entry group)
                CROSS JOIN LATERAL (
                           SELECT CASE WHEN f.livechat_channel_id IS NOT NULL THEN f.answer_target_minutes END AS minutes,
                                  f.date + make_interval(mins => f.answer_target_minutes) AS due
                           ) target
                )
                """,
                table=SQL.identifier(self._table),
                facts=SQL.identifier(FACTS_TABLE),
            )
        )

    # ------------------------------------------------------------
    # The stored facts
    # ------------------------------------------------------------

    @api.model
    def _livechat_mark_sessions(self, session_ids):
        """Have the facts of ``session_ids`` computed again before the transaction commits (or
        before the figures are read in it, whichever comes first): called where the routing
        writes a session, a hop or a message. Costs one query per transaction, not per write."""
        data = self.env.cr.precommit.data
        if PENDING_KEY not in data:
            data[PENDING_KEY] = set()
            self.env.cr.precommit.add(self._livechat_refresh_pending)
        data[PENDING_KEY].update(session_ids)

    def _livechat_refresh_pending(self):
        self.env.flush_all()
        session_ids = self.env.cr.precommit.data.pop(PENDING_KEY, None)
        if session_ids:
            self._livechat_refresh_facts(list(session_ids))

    @api.model
    def _livechat_refresh_facts(self, session_ids=None):
        """Compute the facts of ``session_ids`` (every session when None: the migration) from
        the sessions, their hops and their messages, and store them.

        :param session_ids: ids of ``discuss.channel`` records, or None for all
        :return: the number of sessions whose facts were written
        """
        restrict = SQL("AND c.id = ANY(%s)", list(session_ids)) if session_ids is not None else SQL()
        return self.env.execute_query(
            SQL(
                """
                WITH facts AS (
                    INSERT INTO %(facts)s (session_id, %(columns)s)
                    SELECT c.id,
                           c.create_date,
                           c.livechat_channel_id,
                           entry.to_group_id,
                           c.livechat_group_id,
                           c.livechat_operator_user_id,
                           c.livechat_routing_state,
                           c.livechat_medium,
                           c.livechat_closed_date,
                           reply.first_reply,
                           -- never below 0: the session and its first hop may be written in two
                           -- transactions whose clocks started in the other order (empty stays empty)
                           EXTRACT(EPOCH FROM hop.first_assigned - LEAST(c.create_date, hop.first_assigned)) / 60,
                           EXTRACT(EPOCH FROM reply.first_reply - LEAST(c.create_date, reply.first_reply)) / 60,
                           hop.forwards,
                           hop.timeouts,
                           %(target)s,
                           %(in_entry)s
                      FROM discuss_channel c
                      -- the group of the first hop: the request came in through it
                 LEFT JOIN LATERAL (
                           SELECT t.to_group_id FROM livechat_session_transfer t
                            WHERE t.session_id = c.id ORDER BY t.id LIMIT 1
                           ) entry ON TRUE
                 LEFT JOIN LATERAL (
                           SELECT MIN(t.create_date) FILTER (WHERE t.to_user_id IS NOT NULL) AS first_assigned,
                                  COUNT(*) FILTER (WHERE t.kind = 'forward') AS forwards,
                                  COUNT(*) FILTER (WHERE t.kind = 'timeout') AS timeouts
                             FROM livechat_session_transfer t
                            WHERE t.session_id = c.id
                           ) hop ON TRUE
                      -- an operator's reply: a message by someone the session was given to
                 LEFT JOIN LATERAL (
                           SELECT MIN(m.create_date) AS first_reply
                             FROM mail_message m
                             JOIN res_users u ON u.partner_id = m.author_id
                        LEFT JOIN mail_message_subtype st ON st.id = m.subtype_id
                            WHERE m.model = 'discuss.channel'
                              AND m.res_id = c.id
                              AND m.message_type = 'comment'
                              -- a note between operators (a forward's) is no reply to the visitor
                              AND m.is_internal IS NOT TRUE AND st.internal IS NOT TRUE
                              AND u.id IN (SELECT t.to_user_id FROM livechat_session_transfer t
                                            WHERE t.session_id = c.id)
                           ) reply ON TRUE
                     WHERE c.channel_type = 'livechat'
                       AND c.livechat_routing_state IS NOT NULL
                       %(restrict)s
                ON CONFLICT (session_id) DO UPDATE SET %(updates)s
                 RETURNING 1
                )
                SELECT COUNT(*) FROM facts
                """,
                facts=SQL.identifier(FACTS_TABLE),
                columns=SQL(", ").join(SQL.identifier(column) for column in FACT_COLUMNS),
                updates=SQL(", ").join(
                    SQL("%s = EXCLUDED.%s", SQL.identifier(column), SQL.identifier(column))
                    for column in FACT_COLUMNS
                ),
                restrict=restrict,
                target=self._livechat_target_sql(SQL("c.livechat_channel_id")),
                in_entry=self._livechat_in_entry_sql(
                    SQL("c.livechat_channel_id"), SQL("c.livechat_group_id")
                ),
            )
        )[0][0]

    @api.model
    def _livechat_target_sql(self, livechat_channel_id):
        """The first-answer target of the live chat ``livechat_channel_id`` (SQL), NULL when none."""
        return SQL(
            "(SELECT lc.answer_target_minutes FROM im_livechat_channel lc"
            " WHERE lc.id = %s AND lc.answer_target_minutes > 0)",
            livechat_channel_id,
        )

    @api.model
    def _livechat_in_entry_sql(self, livechat_channel_id, group_id):
        """Whether ``group_id`` is an entry group of the live chat ``livechat_channel_id`` (SQL)."""
        return SQL(
            "EXISTS (SELECT 1 FROM im_livechat_channel_entry_group_rel e WHERE e.channel_id = %s AND e.group_id = %s)",
            livechat_channel_id,
            group_id,
        )

    @api.model
    def _livechat_refresh_settings(self, livechat_channel_ids=None):
        """Copy the first-answer target and the entry groups of the live chats
        ``livechat_channel_ids`` (every live chat when None: the migration) into their sessions'
        facts: called when they change. One statement over the live chat's sessions; a
        million of them take seconds, once, when an administrator changes the target.

        :return: the number of sessions whose facts were written
        """
        self.env.flush_all()
        restrict = (
            SQL("AND f.livechat_channel_id = ANY(%s)", list(livechat_channel_ids))
            if livechat_channel_ids is not None
            else SQL()
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE %(facts)s f
                   SET answer_target_minutes = %(target)s,
                       in_entry_group = %(in_entry)s
                 WHERE TRUE %(restrict)s
                   -- only the rows that change: a million rows rewritten for nothing bloat the table
                   AND (f.answer_target_minutes, f.in_entry_group) IS DISTINCT FROM (%(target)s, %(in_entry)s)
                """,
                facts=SQL.identifier(FACTS_TABLE),
                target=self._livechat_target_sql(SQL("f.livechat_channel_id")),
                in_entry=self._livechat_in_entry_sql(SQL("f.livechat_channel_id"), SQL("f.final_group_id")),
                restrict=restrict,
            )
        )
        return self.env.cr.rowcount

    # ------------------------------------------------------------
    # Reads
    # ------------------------------------------------------------

    def _apply_ir_rules(self, query, mode="read"):
        """Apply the record rules as the list of live chats they allow, computed once per
        statement (an InitPlan), when they choose rows by their live chat only (supervisors:
        their live chats). Joined to every row, the rules' conditions on groups and members
        keep PostgreSQL from reading a million facts in parallel (make bench)."""
        if self.env.su:
            return
        domain = self.env["ir.rule"]._compute_domain(self._name, mode)
        prefix = "livechat_channel_id."
        leaves = [term for term in domain or [] if expression.is_leaf(term)]
        if not leaves or not all(isinstance(term[0], str) and term[0].startswith(prefix) for term in leaves):
            # a rule that reads every row (administrators), or anything else: as stock does
            return super()._apply_ir_rules(query, mode)
        # the rows whose live chat meets <path> of each livechat_channel_id.<path> condition,
        # as the ORM's subquery selects them (archived live chats included); NOT, AND and OR
        # of such conditions are those of the live chats, a row without a live chat meets none
        livechat_domain = [
            (term[0][len(prefix) :], *term[1:]) if expression.is_leaf(term) else term for term in domain
        ]
        # sudo: im_livechat.channel - the rules say which live chats, whoever reads the figures
        livechats = (
            self.env["im_livechat.channel"].sudo().with_context(active_test=False)._search(livechat_domain)
        )
        query.add_where(
            SQL(
                "%s = ANY(ARRAY(%s))",
                SQL.identifier(query.table, "livechat_channel_id"),
                livechats.subselect(),
            )
        )

    @api.model
    def _search(self, domain, *args, **kwargs):
        self._livechat_refresh_pending()
        return super()._search(domain, *args, **kwargs)

    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        """Read the percentiles apart from the other aggregates.

        An ordered-set aggregate (``percentile_cont``) makes PostgreSQL sort every row of the
        read, with all its measures, then each cell's values again, in one process: over a
        million sessions that is most of a pivot's time. So the ordinary aggregates are read by
        the standard ``read_group`` (hashed, in parallel), and each percentile by a second
        statement that counts the sessions per value of each cell, then finds the cell's
        percentile in those counts (:meth:`_read_group_percentiles`). When a percentile filters
        the groups (``having``), it stays in the standard statement (:meth:`_read_group_select`):
        both give the same figure.
        """
        self._livechat_refresh_pending()
        # PostgreSQL's JIT compiles the aggregates of a large read for each pivot read, and the
        # compilation costs more than the query (make bench). It is switched off for the rest of
        # this read-only transaction only.
        self.env.cr.execute("SET LOCAL jit = off")
        percentiles = [
            spec for spec in aggregates if spec != "__count" and parse_read_group_spec(spec)[2] == "p90"
        ]
        if not percentiles or having:
            return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)
        others = [spec for spec in aggregates if spec not in percentiles]
        rows = super()._read_group(domain, groupby, others or ["__count"], having, offset, limit, order)
        if not rows:
            return rows
        values = {
            spec: self._read_group_percentiles(domain, groupby, spec, len(rows)) for spec in percentiles
        }
        result = []
        for row in rows:
            key, others_values = row[: len(groupby)], dict(zip(others, row[len(groupby) :], strict=False))
            result.append(
                (
                    *key,
                    *(
                        values[spec].get(key, self._read_group_empty_value(spec))
                        if spec in values
                        else others_values[spec]
                        for spec in aggregates
                    ),
                )
            )
        return result

    def _read_group_percentile_value(self, aggregate_spec, query):
        """The SQL of the value that a percentile orders: the field rounded to its digits, as an
        integer number of steps (``round(waiting_time * 100)``), and that step."""
        fname, __, __ = parse_read_group_spec(aggregate_spec)
        field = self._fields[fname]
        if field.type not in ("integer", "float"):
            raise ValueError(f"Invalid aggregate method 'p90' for {aggregate_spec!r}: numbers only.")
        # _field_to_sql checks the field is readable
        sql_field = self._field_to_sql(self._table, fname, query)
        digits = field.get_digits(self.env) if field.type == "float" else None
        scale = 10 ** digits[1] if digits else 1
        return SQL("round(%s * %s)", sql_field, scale), scale

    def _read_group_percentiles(self, domain, groupby, aggregate_spec, cells):
        """The percentile of ``aggregate_spec`` in each group of ``groupby``, as ``percentile_cont``
        computes it over the rounded values.

        For a few cells (``cells``: how many groups the read has), from how many rows hold each
        value: a hashed count, whose size is bounded by the distinct values, not by the rows.
        For many, by sorting the values of each cell, as ``percentile_cont`` does, but only them.

        :return: a dict {group key (as _read_group returns it): percentile}
        """
        query = self._search(domain)
        terms = [self._read_group_groupby(spec, query) for spec in groupby]
        value, scale = self._read_group_percentile_value(aggregate_spec, query)
        keys = [SQL.identifier(f"key_{index}") for index in range(len(terms))]
        selected_keys = [SQL("%s AS %s", term, key) for term, key in zip(terms, keys, strict=False)]
        if cells > PERCENTILE_COUNTED_CELLS:
            if terms:
                query.groupby = SQL(", ").join(terms)
            statement = query.select(
                *selected_keys,
                SQL("percentile_cont(%s) WITHIN GROUP (ORDER BY %s) / %s", PERCENTILE, value, scale),
            )
        else:
            query.add_where(SQL("%s IS NOT NULL", value))
            query.groupby = SQL(", ").join([*terms, value])
            partition = SQL("PARTITION BY %s", SQL(", ").join(keys)) if keys else SQL()
            # percentile_cont: the value at (total - 1) * fraction, interpolated between its
            # two neighbours; the n-th value is the first whose running count is above n
            statement = SQL(
                """
                WITH histogram AS (%(histogram)s),
                running AS (
                    SELECT h.*,
                           SUM(h.n) OVER (%(partition)s ORDER BY h.step) AS up_to,
                           (SUM(h.n) OVER (%(partition)s) - 1) * %(fraction)s AS at
                      FROM histogram h
                )
                SELECT %(keys)s (below + (above - below) * (at - floor(at))) / %(scale)s
                  FROM (
                        SELECT %(keys)s at,
                               MIN(step) FILTER (WHERE up_to > floor(at)) AS below,
                               MIN(step) FILTER (WHERE up_to > ceil(at)) AS above
                          FROM running
                         GROUP BY %(keys)s at
                       ) cell
                """,
                histogram=query.select(*selected_keys, SQL("%s AS step", value), SQL("COUNT(*) AS n")),
                partition=partition,
                fraction=PERCENTILE,
                keys=SQL("").join(SQL("%s, ", key) for key in keys),
                scale=scale,
            )
        rows = self.env.execute_query(statement)
        if not rows:
            return {}
        columns = list(zip(*rows, strict=False))
        group_keys = (
            zip(
                *(
                    self._read_group_postprocess_groupby(spec, column)
                    for spec, column in zip(groupby, columns, strict=False)
                ),
                strict=False,
            )
            if groupby
            else [()] * len(rows)
        )
        return {key: row[-1] for key, row in zip(group_keys, rows, strict=False)}

    def _read_group_select(self, aggregate_spec, query):
        fname, __, func = parse_read_group_spec(aggregate_spec)
        if func != "p90":
            return super()._read_group_select(aggregate_spec, query)
        # only when a percentile filters the groups (see _read_group): the same
        # figure as _read_group_percentiles, over the same rounded values
        value, scale = self._read_group_percentile_value(aggregate_spec, query)
        return SQL("percentile_cont(%s) WITHIN GROUP (ORDER BY %s) / %s", PERCENTILE, value, scale)
