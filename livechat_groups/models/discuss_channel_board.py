from datetime import timedelta
from textwrap import shorten

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, html2plaintext
from odoo.tools.sql import create_index

from . import livechat_targets


class DiscussChannel(models.Model):
    """The supervision board: which sessions a supervisor sees, what each card shows (how long
    it waited or lasted, the first-answer target, the last message, the forwards), its columns,
    the operators' headers, and the bus news that reload it."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_answer_target_minutes = fields.Integer(
        related="livechat_channel_id.answer_target_minutes", string="First Answer Target (minutes)"
    )
    livechat_target_state = fields.Selection(
        selection=[("on_time", "On Time"), ("at_risk", "At Risk"), ("breached", "Breached")],
        string="First Answer",
        compute="_compute_livechat_target_state",
        help="Against the live chat's first-answer target: on time, at risk (three quarters of "
        "it used without an answer) or breached. Empty without a target.",
    )

    livechat_supervised = fields.Boolean(
        string="Supervised by Me",
        compute="_compute_livechat_supervised",
        search="_search_livechat_supervised",
        help="Sessions of the live chats you supervise (every grouped live chat for Live Chat "
        "administrators).",
    )
    livechat_board_minutes = fields.Integer(
        string="Minutes",
        compute="_compute_livechat_board",
        help="How long a waiting session has waited, or how long the session has lasted.",
    )
    livechat_board_overdue = fields.Boolean(
        string="Waited Too Long",
        compute="_compute_livechat_board",
        help="The session has waited longer than the waiting alert of its live chat.",
    )
    livechat_board_alert_date = fields.Datetime(
        string="Waiting Alert At",
        compute="_compute_livechat_board",
        help="When a waiting session passes the waiting alert of its live chat: the open board "
        "reloads itself then, so that the card turns red without waiting for the next minute.",
    )
    livechat_board_color = fields.Integer(
        string="Board Colour",
        compute="_compute_livechat_board",
        help="The colour of the session's card on the supervision board: red when it waited too long.",
    )
    livechat_last_message = fields.Char(
        string="Last Message",
        compute="_compute_livechat_board",
        help="The last message written in the session.",
    )
    livechat_forward_count = fields.Integer(
        string="Forwards", compute="_compute_livechat_board", help="How many times the session was forwarded."
    )

    def init(self):
        res = super().init()
        # The supervision board shows the open sessions and those closed today: without these
        # two, each of its reads scans the whole history (make bench: 1,000,000 sessions).
        create_index(
            self.env.cr,
            "discuss_channel_livechat_open_index",
            self._table,
            ["livechat_routing_state"],
            where="livechat_routing_state IN ('queued', 'assigned')",
        )
        create_index(
            self.env.cr,
            "discuss_channel_livechat_closed_date_index",
            self._table,
            ["livechat_closed_date"],
            where="livechat_closed_date IS NOT NULL",
        )
        return res

    @api.model_create_multi
    def create(self, vals_list):
        sessions = super().create(vals_list)
        sessions._livechat_notify_board()
        return sessions

    def write(self, vals):
        res = super().write(vals)
        if "livechat_routing_state" in vals:
            self._livechat_notify_board()
        return res

    # ------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------

    @api.model
    def _read_group_livechat_operator_user_id(self, users, domain):
        """On the board grouped by operator, every operator of the live chats the user
        supervises has a column, so that a waiting session can be dropped on anyone."""
        # sudo: im_livechat.channel - reading which groups operate the supervised live chats
        channels = self.env["im_livechat.channel"].sudo().search(self._livechat_supervised_channel_domain())
        return users | channels._operator_group_ids().member_ids

    @api.model
    def _read_group_livechat_routing_state(self, states, domain):
        """The board always shows its three columns, even empty."""
        return [value for value, _label in self._fields["livechat_routing_state"].selection]

    def _compute_livechat_supervised(self):
        supervised = self.search([("id", "in", self.ids), ("livechat_supervised", "=", True)])
        for session in self:
            session.livechat_supervised = session in supervised

    def _search_livechat_supervised(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Supervised sessions are searched with = True or = False only."))
        # The board's queries join the small tables of groups and live chats, which PostgreSQL
        # seldom analyzes: its estimates then make it compile each query with JIT, 250 ms for a
        # 50 ms query (make bench). Off for the rest of this transaction, as for the figures.
        self.env.cr.execute("SET LOCAL jit = off")
        # sudo: im_livechat.channel - which live chats the user supervises is read from their groups
        channels = self.env["im_livechat.channel"].sudo()._search(self._livechat_supervised_channel_domain())
        domain = [("livechat_routing_state", "!=", False), ("livechat_channel_id", "in", channels)]
        return domain if (operator == "=") == value else ["!", *domain]

    @api.model
    def _livechat_supervised_channel_domain(self):
        """The live chats the current user supervises: every grouped one for administrators."""
        if self.env.user.has_group("im_livechat.im_livechat_group_manager"):
            return [("entry_group_ids", "!=", False)]
        return [("supervisor_group_ids.member_ids", "in", self.env.uid)]

    @api.depends(
        "livechat_routing_state",
        "livechat_queued_date",
        "livechat_closed_date",
        "livechat_channel_id.wait_alert_minutes",
    )
    def _compute_livechat_board(self):
        now = fields.Datetime.now()
        stats = self._livechat_board_stats()
        for session in self:
            state = session.livechat_routing_state
            if state == "queued":
                start, end = session.livechat_queued_date, now
            else:
                start, end = session.create_date, session.livechat_closed_date or now
            minutes = max(int((end - start).total_seconds() // 60), 0) if start and end else 0
            threshold = session.livechat_channel_id.wait_alert_minutes
            alerted = state == "queued" and bool(threshold) and bool(start)
            overdue = alerted and minutes >= threshold
            last_body, forwards = stats.get(session.id, (None, 0))
            session.livechat_board_minutes = minutes
            session.livechat_board_overdue = overdue
            session.livechat_board_alert_date = start + timedelta(minutes=threshold) if alerted else False
            session.livechat_board_color = 1 if overdue else 0  # red
            session.livechat_last_message = shorten(html2plaintext(last_body or ""), 80, placeholder="…")
            session.livechat_forward_count = forwards

    def _compute_livechat_target_state(self):
        now = fields.Datetime.now()
        for session in self:
            session.livechat_target_state = session.livechat_routing_state and livechat_targets.target_state(
                session.create_date,
                session.livechat_first_answer_date,
                session.livechat_closed_date,
                session.livechat_channel_id.answer_target_minutes,
                now,
            )

    def _livechat_board_stats(self):
        """The last message and the number of forwards of each session of ``self``, in one
        query: the board reads them for every card, and the ORM would read each session's
        messages and history.

        :return: ``{session_id: (last message body (html) or None, number of forwards)}``
        """
        ids = tuple(self.filtered("livechat_routing_state").ids)
        if not ids:
            return {}
        self.env["mail.message"].flush_model(["model", "res_id", "message_type", "body"])
        self.env["livechat.session.transfer"].flush_model(["session_id", "kind"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT c.id,
                       (SELECT m.body FROM mail_message m
                     LEFT JOIN mail_message_subtype st ON st.id = m.subtype_id
                         WHERE m.model = 'discuss.channel' AND m.res_id = c.id
                           AND m.message_type = 'comment'
                           AND m.is_internal IS NOT TRUE AND st.internal IS NOT TRUE
                      ORDER BY m.id DESC LIMIT 1),
                       (SELECT COUNT(*) FROM livechat_session_transfer t
                         WHERE t.session_id = c.id AND t.kind = 'forward')
                  FROM discuss_channel c
                 WHERE c.id IN %(ids)s
                """,
                ids=ids,
            )
        )
        return {session_id: (body, forwards) for session_id, body, forwards in rows}

    def _livechat_notify_board(self):
        """Tell the supervision boards that these sessions changed: the supervisors of their
        live chats and the Live Chat administrators reload their board (one notification per
        live chat, on its "supervisors" bus channel, see ``ir.websocket``)."""
        sessions = self.filtered("livechat_routing_state")
        # sudo: im_livechat.channel - the board's news go out whoever changed the sessions
        for channel, channel_sessions in sessions.sudo().grouped("livechat_channel_id").items():
            self.env["bus.bus"]._sendone(
                (channel, "supervisors"),
                "livechat_groups.session_update",
                {"livechat_channel_id": channel.id, "session_ids": channel_sessions.ids},
            )
        # the operators of the sessions' groups refresh their "Waiting" list in Discuss: one
        # notification per group, on its bus channel (see ir.websocket)
        # sudo: livechat.group - the groups' news go out whoever changed the sessions
        for group, group_sessions in sessions.sudo().grouped("livechat_group_id").items():
            if group:
                group._bus_send("livechat_groups.queue_update", {"session_ids": group_sessions.ids})

    @api.model
    def livechat_board_operators(self, user_ids):
        """What the supervision board shows in the header of each operator's column: whether
        they can answer now, and how many sessions they hold (open ones, across live chats).

        :param list user_ids: the operators of the board's columns
        :return: ``{user_id: {"status": "online" | "away" | "offline", "label": str,
            "load": int}}``
        """
        # sudo: im_livechat.channel, res.users - the operators of the live chats the user
        # supervises, nothing else
        channels = self.env["im_livechat.channel"].sudo().search(self._livechat_supervised_channel_domain())
        operators = channels._operator_group_ids().member_ids & self.env["res.users"].sudo().browse(
            [self._livechat_id(user_id) for user_id in user_ids or []]
        )
        stats = self.env["livechat.routing"]._operator_stats(operators)
        labels = {
            "online": self.env._("Available"),
            "away": self.env._("Away"),
            "offline": self.env._("Offline"),
        }
        result = {}
        for user in operators:
            status = user.im_status if user.im_status in labels else "offline"
            load = stats[user.id][0]
            result[user.id] = {
                "status": status,
                "load": load,
                "label": self.env._("%(status)s · %(count)s open", status=labels[status], count=load),
            }
        return result
