import re

from odoo import api, fields, models, tools
from odoo.models import parse_read_group_spec, regex_order
from odoo.osv import expression
from odoo.tools import SQL, Query
from odoo.tools.safe_eval import safe_eval

from odoo.addons.rating.models.rating_data import RATING_LIMIT_SATISFIED

from ..models import livechat_targets
from ..tools import until_commit
from .livechat_session_report_fact import FACTS_TABLE

# the sessions whose stored facts (livechat.session.report.fact) this transaction must compute
# again (see tools/until_commit.py)
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
    "satisfaction",
)
# the fraction that the "p90" aggregator computes
PERCENTILE = 0.9
# a part of a read's order by a percentile (``waiting_time_p90:p90 desc``), which stock's
# regex_order refuses: its aggregates are named by letters only
PERCENTILE_ORDER = re.compile(
    r"^\s*(?P<term>[a-z0-9_]+:p90)(\s+(?P<direction>asc|desc))?(\s+(?P<nulls>nulls first|nulls last))?\s*$",
    re.IGNORECASE,
)
# up to this many cells, a percentile is found in the counts of each value of each cell, with
# the other figures when the cells are known to be that few before the read; beyond, those
# counts are nearly as many as the sessions, and sorting the values is cheaper (make bench: over
# 1,000,000 sessions, 3 cells take 0.15 s counted and 0.5 s sorted, 2,451 cells 2.4 s and 0.8 s)
PERCENTILE_COUNTED_CELLS = 100
# how the aggregate of a cell is found from those of its values' rows (see _read_group_counted):
# {function: (the aggregates of each row, the cell's aggregate of those)}
PARTIAL_AGGREGATES = {
    "count": (("count",), "SUM(%s)::bigint"),
    "sum": (("sum",), "SUM(%s)"),
    "avg": (("sum", "count"), "SUM(%s) / NULLIF(SUM(%s), 0)"),
    "min": (("min",), "MIN(%s)"),
    "max": (("max",), "MAX(%s)"),
    "bool_and": (("bool_and",), "BOOL_AND(%s)"),
    "bool_or": (("bool_or",), "BOOL_OR(%s)"),
}
# to bound how many groups a read by date makes (see _read_group_cells_bound): the shortest of
# each period, in days, and how many values each numbered period takes
PERIOD_DAYS = {
    "hour": 1 / 24,
    "day": 1,
    "week": 7,
    "month": 28,
    "quarter": 89,
    "year": 365,
    "year_number": 365,
}
NUMBERED_PERIODS = {
    "quarter_number": 4,
    "month_number": 12,
    "iso_week_number": 53,
    "day_of_year": 366,
    "day_of_month": 31,
    "day_of_week": 7,
    "hour_number": 24,
    "minute_number": 60,
    "second_number": 60,
}


class LivechatSessionReport(models.Model):
    """Per-group figures of live chat sessions: one row per session of a grouped live chat.

    Averages and shares are aggregated by PostgreSQL at any grouping level. The 90th percentile
    of the waiting time cannot be derived from the percentiles of sub-groups, so it is not stored
    per row and averaged: it is computed over the sessions of each cell of the pivot or bar of the
    graph (the ``p90`` aggregator), exactly, over the values rounded to the field's digits (a
    hundredth of a minute: below the second that the view shows). See ``_read_group``.

    The facts that take a session's history to compute (its entry group, waiting time, first
    reply, forwards, timeouts) are stored in ``livechat.session.report.fact``, one row per
    session, computed again whenever the routing writes the session, one of its hops or one of
    its messages (``_livechat_mark_sessions``), with the live chat's settings they depend on;
    PostgreSQL derives the shares and breaches from them as they are written (generated
    columns), and the view only decides, by the clock, the target of a session still unanswered.
    Over a million sessions, the pivot reads one table and joins nothing.
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
        string="Closed in Entry Group (% of Closed)",
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
    satisfaction = fields.Float(
        string="Satisfaction (%)",
        digits=(16, 1),
        aggregator="avg",
        readonly=True,
        help="Among the rated sessions, the share whose customer was satisfied (a rating of "
        "Satisfied), whatever the channel: the website widget's ratings and the messenger "
        "customers' buttons alike. Sessions without a rating are left out.",
    )

    def init(self):
        cr = self.env.cr
        tools.drop_view_if_exists(cr, self._table)
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
                           CASE WHEN f.target_due IS NULL THEN f.answered_in_target
                                WHEN %(breached)s THEN 0.0
                                END AS answered_in_target,
                           CASE WHEN f.target_due IS NULL THEN f.target_breaches
                                WHEN %(breached)s THEN 1
                                ELSE 0 END AS target_breaches,
                           f.resolved_in_entry,
                           f.satisfaction,
                           -- not a field: which sessions are closed, to read the others apart
                           f.closed_date
                      FROM %(facts)s f
                )
                """,
                table=SQL.identifier(self._table),
                facts=SQL.identifier(FACTS_TABLE),
                breached=livechat_targets.breached_by_now_sql(SQL("f.target_due")),
            )
        )

    # ------------------------------------------------------------
    # The stored facts
    # ------------------------------------------------------------

    @api.model
    def _livechat_pivot_measures(self):
        """The measures of the Group Figures action (its context's ``pivot_measures``) as its
        pivot asks for them, each with its aggregator: what the tests and the benchmark read."""
        # sudo: ir.actions.act_window - the action's measures, whoever reads the figures
        action = self.env.ref("livechat_groups.livechat_session_report_action").sudo()
        names = safe_eval(action.context)["pivot_measures"]
        return [
            "__count" if name == "__count__" else f"{name}:{self._fields[name].aggregator}" for name in names
        ]

    @api.model
    def _livechat_mark_sessions(self, session_ids):
        """Have the facts of ``session_ids`` computed again before the transaction commits (or
        before the figures are read in it, whichever comes first): called where the routing
        writes a session, a hop or a message. Costs one query per transaction, not per write."""
        until_commit.gather(self.env.cr, PENDING_KEY, session_ids, self._livechat_refresh_pending)

    def _livechat_refresh_pending(self):
        self.env.flush_all()
        if session_ids := until_commit.take(self.env.cr, PENDING_KEY):
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
                           %(in_entry)s,
                           CASE WHEN rate.rating >= %(satisfied)s THEN 100.0
                                WHEN rate.rating > 0 THEN 0.0 END
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
                              -- an empty comment (possible over RPC) answers nothing
                              AND %(says_something)s
                              AND u.id IN (SELECT t.to_user_id FROM livechat_session_transfer t
                                            WHERE t.session_id = c.id)
                           ) reply ON TRUE
                      -- the customer's rating, as the website widget or the messenger's buttons gave it
                 LEFT JOIN LATERAL (
                           SELECT r.rating FROM rating_rating r
                            WHERE r.res_model = 'discuss.channel' AND r.res_id = c.id
                              AND r.consumed AND r.rating > 0
                            ORDER BY r.id DESC LIMIT 1
                           ) rate ON TRUE
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
                satisfied=RATING_LIMIT_SATISFIED,
                says_something=self.env["mail.message"]._livechat_says_something_sql(SQL("m")),
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
        keep PostgreSQL from reading a million facts in parallel (make bench).

        Why an override and not plain record rules: a rule's domain is the same for every user
        of a group and the ORM turns its ``livechat_channel_id.<path>`` into a subquery joined
        to every row; the list of the reader's live chats cannot be written in a rule without
        caching it per user (ir.rule's cache), which membership changes would leave stale. The
        rules themselves stay the record rules of security/livechat_groups_security.xml: only
        how they are applied changes, and they give the same rows."""
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
        """Read the percentiles without an ordered-set aggregate, by the first of the percentile
        engines that can make the read (:meth:`_read_group_percentile_engines`); any other read
        (no percentile, a percentile that filters the groups) is stock's.

        ``percentile_cont`` makes PostgreSQL sort every row of the read, with all its measures,
        then each cell's values again, in one process: over a million sessions that was most of
        a pivot's time. All engines give ``percentile_cont``'s figure over the values rounded to
        the field's digits.
        """
        self._livechat_refresh_pending()
        # PostgreSQL's JIT compiles the aggregates of a large read for each pivot read, and the
        # compilation costs more than the query (make bench). It is switched off for the rest of
        # this read-only transaction only.
        self.env.cr.execute("SET LOCAL jit = off")
        percentiles = [
            spec for spec in aggregates if spec != "__count" and parse_read_group_spec(spec)[2] == "p90"
        ]
        if percentiles and not having:
            for engine in self._read_group_percentile_engines():
                rows = engine(domain, groupby, aggregates, percentiles, offset, limit, order)
                if rows is not None:
                    return rows
        # a percentile that filters the groups stays in the standard statement (_read_group_select)
        return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)

    def _read_group_percentile_engines(self):
        """The ways to read percentiles, tried in this order; each returns the rows as
        :meth:`_read_group` does, or None when it cannot make the read:

        * the stored rollup of closed sessions, when it holds all the read needs (its keys, its
          figures): one statement over the rollup and the open sessions
          (:meth:`_read_group_rollup`);
        * a few cells (at most ``PERCENTILE_COUNTED_CELLS``, known beforehand from what the
          grouped fields can hold: :meth:`_read_group_cells_bound`): one statement counts the
          sessions of each value of each cell, with the other aggregates of those sessions, in
          one hashed pass; each cell's figures come from its values' (:meth:`_read_group_counted`);
        * any other: the standard statement reads the other aggregates (hashed, in parallel),
          then a second one the percentiles (:meth:`_read_group_split`).
        """
        return (self._read_group_rollup, self._read_group_few_cells, self._read_group_split)

    def _read_group_one_percentile(self, domain, percentiles):
        """The percentile that the one-statement engines read: the only one the read asks for,
        over a domain that may hold rows; None otherwise."""
        if len(set(percentiles)) != 1 or expression.is_false(self, domain):
            return None
        return percentiles[0]

    def _read_group_few_cells(self, domain, groupby, aggregates, percentiles, offset, limit, order):
        """The counted read over the sessions, when one percentile is read and the groups are
        known to be few (see :meth:`_read_group_percentile_engines`)."""
        percentile_spec = self._read_group_one_percentile(domain, percentiles)
        if not percentile_spec:
            return None
        bound = self._read_group_cells_bound(groupby)
        if bound is None or bound > PERCENTILE_COUNTED_CELLS:
            return None
        return self._read_group_counted(
            self._search(domain), groupby, aggregates, percentile_spec, offset, limit, order
        )

    def _read_group_split(self, domain, groupby, aggregates, percentiles, offset, limit, order):
        """The other aggregates by the standard statement, then the percentiles of its groups
        by a second one (:meth:`_read_group_percentiles`): any read of percentiles."""
        others = [spec for spec in aggregates if spec not in percentiles]
        rows = super()._read_group(domain, groupby, others or ["__count"], (), offset, limit, order)
        if not rows:
            return rows
        values = {
            spec: self._read_group_percentiles(domain, groupby, spec, len(rows)) for spec in percentiles
        }
        result = []
        for row in rows:
            key, others_values = row[: len(groupby)], dict(zip(others, row[len(groupby) :], strict=False))
            row_values = []
            for spec in aggregates:
                if spec in values:
                    # a cell none of whose sessions has the value: empty, as stock reads it
                    value = values[spec].get(key)
                    row_values.append(self._read_group_empty_value(spec) if value is None else value)
                else:
                    row_values.append(others_values[spec])
            result.append((*key, *row_values))
        return result

    @api.model
    def _read_group_cells_bound(self, groupby):
        """At most how many groups ``groupby`` makes, whatever the domain, from what each grouped
        field can hold: a many2one, its comodel's records; a selection, its values; a date, the
        periods from the first session to the last one; and, for each, none.

        :return: an int, or None when a grouped field holds anything else
        """
        bound = 1
        for spec in groupby:
            fname, __, granularity = parse_read_group_spec(spec)
            field = self._fields.get(fname)
            if field is None:
                return None
            if field.type == "many2one":
                # sudo: the comodel - how many records it has, not which the reader may see
                values = self.env[field.comodel_name].sudo().with_context(active_test=False).search_count([])
            elif field.type == "selection":
                values = len(field.get_values(self.env))
            elif field.type == "boolean":
                values = 2
            elif field.type in ("date", "datetime") and granularity in NUMBERED_PERIODS:
                values = NUMBERED_PERIODS[granularity]
            elif field.type in ("date", "datetime") and granularity in PERIOD_DAYS:
                # sudo: the first and last session of all, on the column's index
                first, last = self.sudo()._read_group([], [], [f"{fname}:min", f"{fname}:max"])[0]
                values = int((last - first).days // PERIOD_DAYS[granularity]) + 2 if first else 0
            else:
                return None
            bound *= values + 1
        return bound

    def _read_group_counted(
        self, query, groupby, aggregates, percentile_spec, offset=0, limit=None, order=None, rollup=False
    ):
        """Read ``aggregates`` of the groups of ``groupby`` in one statement: the sessions of
        each cell and each value of the percentile's field, counted with the other aggregates of
        those sessions (hashed, in parallel); then each cell's percentile from its running count
        (``percentile_cont``: the value at (total - 1) * fraction, interpolated between its two
        neighbours), its other aggregates from its values' (the average, from their sums and
        counts). The cells are ordered as the standard read orders its groups, on the cells: a
        many2one's comodel is joined to them, not to every session.

        :param query: the sessions to read (the report's ``_search``); with ``rollup``, the rows
            of the rollup that stand for them, with their ``__sessions``, ``__step`` and the
            ``<figure>_sum`` and ``<figure>_count`` of each figure (:meth:`_read_group_rollup`)

        :return: the rows as :meth:`_read_group` returns them; None when the read cannot be made
            this way (an aggregate that its values' aggregates do not give, such as
            ``count_distinct``; an order by an aggregate; a field grouped twice)
        """
        if len(set(groupby)) != len(groupby):
            return None
        for part in (order or "").split(","):
            match = regex_order.match(part) or PERCENTILE_ORDER.match(part)
            if part.strip() and (not match or match["term"] not in (*groupby, percentile_spec)):
                return None
        if rollup:
            value = SQL.identifier(query.table, "__step")
            scale = self._read_group_percentile_scale(self._fields[parse_read_group_spec(percentile_spec)[0]])
            sessions = SQL("SUM(%s)", SQL.identifier(query.table, "__sessions"))
        else:
            value, scale = self._read_group_percentile_value(percentile_spec, query)
            sessions = SQL("COUNT(*)")
        # a cell's key is named after its field, so that the standard order by a many2one's
        # comodel finds it; a date by a period is a key of its own
        key_names = [spec if spec in self._fields else f"__key_{index}" for index, spec in enumerate(groupby)]
        columns = [
            SQL("%s AS %s", self._read_group_groupby(spec, query), SQL.identifier(name))
            for spec, name in zip(groupby, key_names, strict=True)
        ]
        query.groupby = SQL(", ").join([*map(SQL.identifier, key_names), SQL("__step")])
        columns += [SQL("%s AS __step", value), SQL("%s AS __sessions", sessions)]
        below = SQL("MIN(__step) FILTER (WHERE __up_to > floor(__at))")
        above = SQL("MIN(__step) FILTER (WHERE __up_to > ceil(__at))")
        percentile = SQL("(%s + (%s - %s) * (MIN(__at) - floor(MIN(__at)))) / %s", below, above, below, scale)
        cell_aggregates = []
        for index, spec in enumerate(aggregates):
            if spec == percentile_spec:
                cell_aggregates.append(percentile)
                continue
            fname, __, func = ("", None, "count") if spec == "__count" else parse_read_group_spec(spec)
            if func not in PARTIAL_AGGREGATES:
                return None
            partials, combine = PARTIAL_AGGREGATES[func]
            if rollup and func == "sum":
                # the rollup sums none as 0: a cell none of whose sessions has a value has no sum
                partials, combine = ("count", "sum"), "CASE WHEN SUM(%s) > 0 THEN SUM(%s) END"
            names = []
            for partial in partials:
                name = SQL.identifier(f"__{index}_{partial}")
                if spec == "__count":
                    term = sessions
                elif rollup:
                    term = SQL("SUM(%s)", SQL.identifier(query.table, f"{fname}_{partial}"))
                else:
                    term = self._read_group_select(f"{fname}:{partial}", query)
                columns.append(SQL("%s AS %s", term, name))
                names.append(name)
            cell_aggregate = SQL(combine, *names)
            if func == "sum" and self._fields[fname].column_type[0] == "int4":
                cell_aggregate = SQL("(%s)::bigint", cell_aggregate)  # as SUM(integer) is
            cell_aggregates.append(cell_aggregate)
        cells_of = (
            SQL("PARTITION BY %s", SQL(", ").join(map(SQL.identifier, key_names))) if groupby else SQL()
        )
        counted = SQL(
            """SELECT cell.*,
                      SUM(__sessions) FILTER (WHERE __step IS NOT NULL) OVER (%(cells_of)s ORDER BY __step) AS __up_to,
                      (SUM(__sessions) FILTER (WHERE __step IS NOT NULL) OVER (%(cells_of)s) - 1) * %(fraction)s AS __at
                 FROM (%(values)s) cell""",
            cells_of=cells_of,
            fraction=PERCENTILE,
            values=query.select(*columns),
        )
        cells = Query(self.env, self._table, SQL("(%s)", counted))
        cells.limit, cells.offset = limit, offset
        keys = {
            spec: SQL.identifier(self._table, name) for spec, name in zip(groupby, key_names, strict=True)
        }
        if keys:
            cells.groupby = SQL(", ").join(keys.values())
            cells.order = self._read_group_orderby(order, keys, cells, percentile=percentile)
            if rollup:
                # rows of the rollup may take sessions away: a cell whose sessions all went is none
                cells.having = SQL("SUM(__sessions) != 0")
        rows = self.env.execute_query(cells.select(*keys.values(), *cell_aggregates))
        if not rows:
            return rows
        columns = iter(zip(*rows, strict=True))
        result = [self._read_group_postprocess_groupby(spec, next(columns)) for spec in groupby]
        result += [self._read_group_postprocess_aggregate(spec, next(columns)) for spec in aggregates]
        return list(zip(*result, strict=True))

    def _read_group_orderby(self, order, groupby_terms, query, percentile=None):
        """Stock's order of the groups, and by a percentile (``waiting_time_p90:p90 desc``):
        ``percentile``, the SQL of its figure in the cells of :meth:`_read_group_counted`, or
        ``percentile_cont`` in the standard statement (:meth:`_read_group_select`)."""
        parts = [part for part in (order or "").split(",") if part.strip()]
        if not any(PERCENTILE_ORDER.match(part) for part in parts):
            return super()._read_group_orderby(order, groupby_terms, query)
        terms = []
        for part in parts:
            match = PERCENTILE_ORDER.match(part)
            if not match:
                terms.append(super()._read_group_orderby(part, groupby_terms, query))
                continue
            terms.append(
                SQL(
                    "%s %s %s",
                    percentile or self._read_group_select(match["term"], query),
                    SQL((match["direction"] or "ASC").upper()),
                    SQL((match["nulls"] or "").upper()),
                )
            )
        return SQL(", ").join(terms)

    def _read_group_percentile_value(self, aggregate_spec, query):
        """The SQL of the value that a percentile orders: the field rounded to its digits, as an
        integer number of steps (``round(waiting_time * 100)``), and how many steps make a unit."""
        fname, __, __ = parse_read_group_spec(aggregate_spec)
        field = self._fields[fname]
        if field.type not in ("integer", "float"):
            raise ValueError(f"Invalid aggregate method 'p90' for {aggregate_spec!r}: numbers only.")
        # _field_to_sql checks the field is readable
        sql_field = self._field_to_sql(self._table, fname, query)
        scale = self._read_group_percentile_scale(field)
        return SQL("round(%s * %s)", sql_field, scale), scale

    @api.model
    def _read_group_percentile_scale(self, field):
        """How many of its percentile's steps make a unit of ``field``: 10 ** its digits."""
        digits = field.get_digits(self.env) if field.type == "float" else None
        return 10 ** digits[1] if digits else 1

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
