import hashlib

from odoo import fields, models, tools
from odoo.tools import SQL

from ..models import livechat_targets

# the table of the facts, which SQL statements write and read by name (the refresh, the view,
# the rollup's trigger)
FACTS_TABLE = "livechat_session_report_fact"


class LivechatSessionReportFact(models.Model):
    """The stored facts of one live chat session behind the Group Figures: what takes its
    history to compute (its entry group, waiting time, first reply, forwards, timeouts), with
    the live chat's settings they depend on, so that the pivot reads one narrow table and joins
    nothing (make bench: a million sessions).

    Written in SQL only, by ``livechat.session.report``: ``_livechat_refresh_facts`` (one
    statement per transaction, for the sessions the routing wrote) and
    ``_livechat_refresh_settings`` (when a live chat's target or entry groups change); never
    through the ORM's ``create``/``write``. Read through the report's view.
    """

    _name = "livechat.session.report.fact"
    _description = "Live Chat Group Figures: Stored Facts of a Session"
    # written by SQL statements, which keep no author or date of their own
    _log_access = False
    _rec_name = "session_id"

    # labelled as the report labels them, so that they share its translations
    session_id = fields.Many2one(comodel_name="discuss.channel", required=True, ondelete="cascade")
    # the report's filters and groups by date (the default filter: this month)
    date = fields.Datetime(string="Started On", index=True)
    # the record rules' live chats (report's _apply_ir_rules) and the settings copy's rows
    livechat_channel_id = fields.Many2one(comodel_name="im_livechat.channel", string="Live Chat", index=True)
    group_id = fields.Many2one(comodel_name="livechat.group", string="Entry Group")
    final_group_id = fields.Many2one(comodel_name="livechat.group", string="Last Group")
    # an operator's sessions (the pivot's rows by operator, filtered by one)
    operator_id = fields.Many2one(comodel_name="res.users", index=True)
    state = fields.Char(string="Routing State")
    medium = fields.Char(string="Channel")
    closed_date = fields.Datetime(string="Closed On")
    first_reply = fields.Datetime(string="First Answered On")
    waiting_time = fields.Float(string="Waiting Time (mm:ss)")
    first_reply_time = fields.Float(string="Time to First Reply (mm:ss)")
    forward_count = fields.Integer(string="Forwards")
    timeout_count = fields.Integer(string="No Answer Timeouts")
    # the live chat's settings, copied (18.0.1.2.0)
    answer_target_minutes = fields.Integer(string="First Answer Target (minutes)")
    in_entry_group = fields.Boolean(string="Last Group Is an Entry Group")
    # the customer's rating: 100 satisfied, 0 not, empty unrated (18.0.1.6.0)
    satisfaction = fields.Float(string="Satisfaction (%)")

    # the refresh writes one row per session: INSERT ... ON CONFLICT (session_id)
    _sql_constraints = [("session_unique", "UNIQUE(session_id)", "A session has one row of facts.")]

    def init(self):
        cr = self.env.cr
        self._livechat_generated_columns_sync()
        # the sessions still open, read from the facts beside the rollup (_livechat_rollup_sql)
        tools.create_index(
            cr,
            f"{FACTS_TABLE}_open_index",
            FACTS_TABLE,
            ["livechat_channel_id"],
            where="closed_date IS NULL",
        )

    # ------------------------------------------------------------
    # What PostgreSQL computes: the generated columns
    # ------------------------------------------------------------

    def _livechat_generated_columns(self):
        """The per-session arithmetic of the figures, done once as the facts are written
        (18.0.1.3.0): {column: (type, SQL expression)}.

        These are generated columns, which the ORM cannot declare: PostgreSQL keeps them in
        step with the columns they are computed from whichever statement writes those: the
        refresh, the copy of a live chat's settings, and the database's own ``ON DELETE SET
        NULL`` when a live chat or group is deleted, which no Python code sees. The target rule
        comes from models/livechat_targets.py."""
        start, target = SQL.identifier("date"), SQL.identifier("answer_target_minutes")
        answer, closed = SQL.identifier("first_reply"), SQL.identifier("closed_date")
        return {
            # decided once answered, or once past the target without an answer
            "answered_in_target": (
                "double precision",
                SQL(
                    "CASE WHEN livechat_channel_id IS NOT NULL THEN %s END",
                    livechat_targets.answered_in_target_sql(start, target, answer, closed),
                ),
            ),
            "target_breaches": (
                "integer",
                SQL(
                    "CASE WHEN livechat_channel_id IS NOT NULL THEN %s END",
                    livechat_targets.target_breaches_sql(start, target, answer, closed),
                ),
            ),
            # when the target of a session still open and unanswered runs out: until then,
            # neither figure above is decided (see the report's view)
            "target_due": (
                "timestamp",
                SQL(
                    "CASE WHEN livechat_channel_id IS NOT NULL AND first_reply IS NULL AND closed_date IS NULL"
                    " THEN %s END",
                    livechat_targets.due_sql(start, target),
                ),
            ),
            # over closed sessions that an operator got: an open one is not resolved yet, an
            # abandoned one was never answered; an entry group that took the overflow is still
            # an entry group
            "resolved_in_entry": (
                "double precision",
                SQL(
                    "CASE WHEN state != 'closed' OR waiting_time IS NULL THEN NULL"
                    " WHEN in_entry_group AND final_group_id IS NOT NULL THEN 100.0 ELSE 0.0 END"
                ),
            ),
        }

    def _livechat_generated_columns_sync(self):
        """Add the generated columns, or add them again when their expression changed (a change
        of the rule in Python): each column's comment holds a digest of its definition. Adding
        them again rewrites the table once, then analyzes it; the report's view, which reads
        them, is made again by the report's init right after."""
        cr = self.env.cr
        stale = {}
        for name, (column_type, expression) in self._livechat_generated_columns().items():
            definition = SQL("%s GENERATED ALWAYS AS (%s) STORED", SQL(column_type), expression)
            digest = hashlib.sha256(cr.mogrify(definition)).hexdigest()[:16]
            cr.execute(
                SQL(
                    "SELECT col_description(%s::regclass, attnum) FROM pg_attribute"
                    " WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped",
                    FACTS_TABLE,
                    FACTS_TABLE,
                    name,
                )
            )
            row = cr.fetchone()
            if not row or row[0] != digest:
                stale[name] = (definition, digest, bool(row))
        if not stale:
            return
        tools.drop_view_if_exists(cr, self.env["livechat.session.report"]._table)
        alterations = []
        for name, (definition, __, exists) in stale.items():
            if exists:
                alterations.append(SQL("DROP COLUMN %s", SQL.identifier(name)))
            alterations.append(SQL("ADD COLUMN %s %s", SQL.identifier(name), definition))
        cr.execute(SQL("ALTER TABLE %s %s", SQL.identifier(FACTS_TABLE), SQL(", ").join(alterations)))
        for name, (__, digest, __) in stale.items():
            cr.execute(SQL("COMMENT ON COLUMN %s IS %s", SQL.identifier(FACTS_TABLE, name), digest))
        # the rewrite leaves the planner without the table's statistics until autovacuum comes
        # by, and no write may bring it soon (make bench, after the update to 18.0.1.4.0: every
        # pivot read twice as slow)
        cr.execute(SQL("ANALYZE %s", SQL.identifier(FACTS_TABLE)))
