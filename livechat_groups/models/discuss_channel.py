import re
from datetime import timedelta
from textwrap import shorten

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, html2plaintext
from odoo.tools.sql import create_index

from odoo.addons.mail.tools.discuss import Store

# what only the routing writes, on any conversation: a forged value would count against an
# operator's capacity or put a conversation in a queue
ROUTING_FIELDS = {
    "livechat_group_id",
    "livechat_routing_state",
    "livechat_requester_id",
    "livechat_visitor_name",
    "livechat_queued_date",
    "livechat_assigned_date",
    "livechat_closed_date",
    "livechat_queue_notice_id",
    "livechat_operator_user_id",  # written through the assignment only, see write()
    "livechat_routing_reason",
    "livechat_answer_due",
    "livechat_first_answer_date",
}
# stock's fields that the routing also decides on the sessions of a grouped live chat
STOCK_ROUTING_FIELDS = {"livechat_operator_id", "livechat_active", "livechat_channel_id"}

# the visitor's place in a queue notice
QUEUE_POSITION = re.compile(r'(<span class="o_livechat_groups_position">)\d+(</span>)')


class DiscussChannel(models.Model):
    _inherit = "discuss.channel"

    livechat_group_id = fields.Many2one(
        comodel_name="livechat.group",
        string="Responsible Group",
        index="btree_not_null",
        ondelete="set null",
        help="The group now responsible for this live chat session.",
    )
    livechat_routing_state = fields.Selection(
        selection=[("queued", "Waiting"), ("assigned", "In Progress"), ("closed", "Closed")],
        string="Routing State",
        group_expand="_read_group_livechat_routing_state",
        help="Waiting: in the queue of its group. In progress: an operator holds it. "
        "Empty for the sessions of live chats without groups.",
    )
    livechat_visitor_name = fields.Char(
        string="Visitor", help="Who asked: the visitor's name, or the user's when they are logged in."
    )
    livechat_requester_id = fields.Many2one(
        comodel_name="res.partner",
        string="Requester",
        index="btree_not_null",
        ondelete="set null",
        help="The logged-in user who asked (an employee, in an internal live chat); empty for "
        "anonymous visitors. Requesters never see the operators' internal notes.",
    )
    livechat_queued_date = fields.Datetime(
        string="Waiting Since", help="When the session last entered a queue."
    )
    livechat_assigned_date = fields.Datetime(
        string="Assigned On", help="When an operator last got the session."
    )
    livechat_queue_notice_id = fields.Many2one(
        comodel_name="mail.message",
        string="Queue Notice",
        ondelete="set null",
        readonly=True,
        help="OdooBot's message telling the waiting visitor their place, kept up to date as the queue moves.",
    )
    livechat_transfer_ids = fields.One2many(
        comodel_name="livechat.session.transfer",
        inverse_name="session_id",
        string="Routing History",
    )
    livechat_closed_date = fields.Datetime(string="Closed On", help="When the session's routing ended.")
    livechat_routing_reason = fields.Text(
        string="Why This Operator",
        readonly=True,
        help="Why the routing gave the session to its operator, or left it in the queue, at its last hop.",
    )

    # over time (see livechat.timers)
    livechat_answer_due = fields.Datetime(
        string="Answer Due",
        readonly=True,
        index="btree_not_null",
        help="When the operator who got the session must have written to the visitor; empty once "
        "they did, or when its live chat has no answer timeout.",
    )
    livechat_first_answer_date = fields.Datetime(
        string="First Answered On",
        readonly=True,
        help="When the operator holding the session first wrote to the visitor.",
    )
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

    # the supervision board
    livechat_operator_user_id = fields.Many2one(
        comodel_name="res.users",
        string="Held By",
        compute="_compute_livechat_operator_user_id",
        store=True,
        readonly=False,
        index="btree_not_null",
        group_expand="_read_group_livechat_operator_user_id",
        help="The operator who holds the session now (or held it last, once closed); empty "
        "while it waits. Setting it (for "
        "example by moving a card to an operator's column on the supervision board) assigns the "
        "session, which only the supervisors of its live chat and Live Chat administrators may do.",
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
        # The routing counts each candidate operator's open sessions for every new session, and
        # the queue job reads each group's waiting sessions oldest first: both stay small while
        # the history grows, so each gets a partial index.
        create_index(
            self.env.cr,
            "discuss_channel_livechat_load_index",
            self._table,
            ["livechat_operator_id"],
            where="livechat_routing_state = 'assigned' AND channel_type = 'livechat'",
        )
        create_index(
            self.env.cr,
            "discuss_channel_livechat_queue_index",
            self._table,
            ["livechat_group_id", "livechat_queued_date", "id"],
            where="livechat_routing_state = 'queued'",
        )
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

    # ------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------

    @api.depends("livechat_routing_state", "livechat_operator_id")
    def _compute_livechat_operator_user_id(self):
        # a closed session keeps the operator who held it last, for the board and the figures
        odoobot = self.env.ref("base.partner_root")
        for session in self:
            operator = session.livechat_operator_id
            held = session.livechat_routing_state in ("assigned", "closed") and operator != odoobot
            session.livechat_operator_user_id = operator.user_ids[:1] if held else False

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
            minutes = int((end - start).total_seconds() // 60) if start and end else 0
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
            session.livechat_target_state = self.env["livechat.timers"]._livechat_target_state(session, now)

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

    # ------------------------------------------------------------
    # CRUD and stock hooks
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(ROUTING_FIELDS & vals.keys() for vals in vals_list):
            raise AccessError(self._livechat_routing_fields_refusal())
        sessions = super().create(vals_list)
        for session in sessions.filtered("livechat_routing_state"):
            # stock's get_session tells the operator about the new session
            session._livechat_after_hand_over(
                "route", self.env["livechat.group"], self.env["res.users"], notify=False
            )
        sessions._livechat_notify_board()
        return sessions

    def write(self, vals):
        if "livechat_operator_user_id" in vals:
            # The supervision board moved a card to an operator's column: that is an assignment,
            # with all its checks, never a plain write of the operator.
            vals = dict(vals)
            user_id = vals.pop("livechat_operator_user_id")
            for session in self:
                if not user_id:
                    raise UserError(
                        self.env._(
                            "A session cannot be put back in the queue by hand: assign it to an "
                            "operator, or forward it to a group."
                        )
                    )
                session.action_livechat_assign(user_id)
            if not vals:
                return True
        if not self.env.su and (
            ROUTING_FIELDS & vals.keys()
            or (STOCK_ROUTING_FIELDS & vals.keys() and self.sudo().filtered("livechat_routing_state"))
        ):
            # members may write their conversation, not who holds it, who asked or where it waits
            raise AccessError(self._livechat_routing_fields_refusal())
        if vals.get("livechat_routing_state") == "closed":
            vals = dict(vals, livechat_closed_date=fields.Datetime.now())
        res = super().write(vals)
        if "livechat_routing_state" in vals:
            self._livechat_notify_board()
        return res

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        if not self.env.su:
            # the web client posts as superuser after its own check: see controllers/thread.py
            self._livechat_check_answer_access()
        return super().message_post(**kwargs)

    def _livechat_check_answer_access(self):
        """Answering a session of a grouped live chat means taking it: a member of its group
        who sees it wait, or a supervisor who did not join it, reads it and may not write in it.
        Only the members of the conversation write (the operator who holds it, the visitor,
        who joined); the routing's own notices are posted by the system."""
        # sudo: discuss.channel - whether this is a grouped session, whoever asks
        for session in self.sudo().filtered("livechat_routing_state"):
            if session.channel_type == "livechat" and not session.is_member:
                raise AccessError(
                    self.env._(
                        "You are not in the conversation %(session)s: take the session (or, as a "
                        "supervisor, join it) before you write in it.",
                        session=session.name,
                    )
                )

    def _livechat_routing_fields_refusal(self):
        return self.env._(
            "The routing of a live chat session (its group, operator, requester, state and dates) "
            "changes only when it is taken, assigned, forwarded or closed."
        )

    def _close_livechat_session(self, **kwargs):
        operator = self._livechat_operator_user()
        res = super()._close_livechat_session(**kwargs)
        if self.livechat_routing_state in ("queued", "assigned") and not self.livechat_active:
            self._livechat_end_routing(operator)
        return res

    def _message_post_after_hook(self, message, msg_vals):
        res = super()._message_post_after_hook(message, msg_vals)
        if self.livechat_routing_state == "assigned":
            self.env["livechat.timers"]._livechat_stop_answer_clock(self, message)
        return res

    def _action_unfollow(self, partner=None, guest=None):
        operator = self._livechat_operator_user()
        res = super()._action_unfollow(partner=partner, guest=guest)
        if not operator or partner != operator.partner_id:
            return res
        # sudo: discuss.channel - the operator who leaves hands the session back
        session = self.sudo()
        if not session.livechat_active:
            session._livechat_end_routing(operator)
            return res
        session._livechat_requeue(operator)
        return res

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_livechat_take(self):
        """An operator takes a waiting session of one of their groups."""
        self.ensure_one()
        user = self.env.user
        # sudo: discuss.channel - a waiting session is not yet the operator's; the checks below
        # decide whether they may take it
        session = self.sudo()
        session._livechat_check_open()
        if session.livechat_routing_state != "queued":
            raise UserError(self.env._("This session is no longer waiting: someone already took it."))
        if user not in session.livechat_group_id.member_ids:
            raise AccessError(
                self.env._(
                    "Only the members of %(group)s may take this session.",
                    group=session.livechat_group_id.name,
                )
            )
        channel = session.livechat_channel_id
        if not channel._livechat_below_capacity(user):
            raise UserError(
                self.env._(
                    "You already hold %(count)s sessions, the most an operator of %(channel)s may hold "
                    "at once: close one first.",
                    count=channel.max_sessions_per_operator,
                    channel=channel.name,
                )
            )
        session._livechat_hand_over("take", session.livechat_group_id, user)
        return True

    def action_livechat_assign(self, user_id):
        """A supervisor of the live chat (or a Live Chat administrator) gives the session to a
        member of one of its operator groups; the operator's capacity does not bind them."""
        self.ensure_one()
        # sudo: discuss.channel - supervisors steer sessions they are not members of; the checks
        # below decide whether they may
        session = self.sudo()
        channel = session.livechat_channel_id
        session._livechat_check_supervisor(
            self.env._(
                "Only the supervisors of %(channel)s and Live Chat administrators may assign its sessions."
            )
        )
        session._livechat_check_open()
        user = self.env["res.users"].browse(self._livechat_id(user_id)).exists()
        operator_groups = channel._operator_group_ids()
        if not user or user not in operator_groups.member_ids:
            raise UserError(
                self.env._(
                    "%(user)s is not a member of the operator groups of %(channel)s (%(groups)s).",
                    user=user.name or repr(user_id),
                    channel=channel.name,
                    groups=", ".join(operator_groups.mapped("name")),
                )
            )
        if session.livechat_routing_state == "assigned" and session.livechat_operator_id == user.partner_id:
            raise UserError(self.env._("%(user)s already holds this session.", user=user.name))
        group = session.livechat_group_id
        if user not in group.member_ids:
            group = operator_groups.filtered(lambda g: user in g.member_ids).sorted()[:1]
        session._livechat_hand_over("assign", group, user)
        return True

    def action_livechat_forward(self, group_id, note=None, user_id=None, stay=False):
        """Hand this session to another group of its live chat, or to one member of it, in the
        same conversation: the new operator joins, then the previous one leaves (unless
        ``stay``). Without ``user_id``, the routing chooses the member; when nobody can take
        it, the session waits in that group's queue.

        Allowed to the session's operator, the supervisors of its live chat and Live Chat
        administrators.

        :param int group_id: a specialist or entry group of the session's live chat
        :param str note: for the operators only, posted as an internal note
        :param int user_id: a member of that group who must get the session
        :param bool stay: whether the forwarding operator stays in the conversation
        """
        self.ensure_one()
        note = self._livechat_text(note, self.env._("The note"))
        # sudo: discuss.channel - supervisors steer sessions they are not members of; the checks
        # below decide whether the caller may
        session = self.sudo()
        session._livechat_check_open()
        channel = session.livechat_channel_id
        caller = self.env.user
        previous = session._livechat_operator_user()
        if caller != previous and not channel._livechat_is_supervisor(caller):
            raise AccessError(
                self.env._(
                    "Only the operator of this session, the supervisors of %(channel)s and Live Chat "
                    "administrators may forward it.",
                    channel=channel.name,
                )
            )
        group = self.env["livechat.group"].browse(self._livechat_id(group_id)).exists()
        targets = channel._operator_group_ids()
        if not group or group not in targets:
            raise UserError(
                self.env._(
                    "%(group)s is not a group of %(channel)s: forward the session to one of %(groups)s.",
                    group=group.name or repr(group_id),
                    channel=channel.name,
                    groups=", ".join(targets.sorted().mapped("name")),
                )
            )
        if user_id:
            user = self.env["res.users"].browse(self._livechat_id(user_id)).exists()
            if not user or user not in group.member_ids:
                raise UserError(
                    self.env._(
                        "%(user)s is not a member of %(group)s.",
                        user=user.name or repr(user_id),
                        group=group.name,
                    )
                )
            if user == previous:
                raise UserError(self.env._("%(user)s already holds this session.", user=user.name))
            reason = None
        elif group == session.livechat_group_id:
            raise UserError(
                self.env._(
                    "This session is already with %(group)s: name another member of it, or choose "
                    "another group.",
                    group=group.name,
                )
            )
        else:
            decision = session._livechat_route_session(group, exclude_users=previous)
            user, group = decision
            reason = decision.reason
        if note:
            session._livechat_post_operator_note(note)
        session._livechat_post_notice(self.env._("You are transferred to %(group)s.", group=group.name))
        session._livechat_hand_over("forward", group, user, note=note or None, reason=reason)
        if previous and not stay and previous != user:
            # after the new operator joined, so that the visitor is never left alone
            session._action_unfollow(partner=previous.partner_id)
        # the previous operator holds one session fewer, for another waiting session than this one
        self.env["livechat.group"]._livechat_dispatch_queues_of(previous, skip=session)
        return True

    def action_livechat_join(self):
        """A supervisor of the live chat (or a Live Chat administrator) enters the conversation:
        they become a member of it, and Discuss opens on it."""
        self.ensure_one()
        # sudo: discuss.channel - a supervisor joins a session they are not a member of yet; the
        # check below decides whether they may
        session = self.sudo()
        session._livechat_check_supervisor(
            self.env._(
                "Only the supervisors of %(channel)s and Live Chat administrators may join its "
                "sessions from the supervision board."
            )
        )
        session._livechat_check_open()
        if self.env.user.partner_id not in session.channel_member_ids.partner_id:
            session._add_members(users=self.env.user)
        return {
            "type": "ir.actions.client",
            "tag": "mail.action_discuss",
            "context": {"active_id": f"{self._name}_{self.id}"},
        }

    def action_livechat_close(self):
        """A supervisor of the live chat (or a Live Chat administrator) ends the session: the
        visitor is told, and the operator is free for the next one."""
        self.ensure_one()
        # sudo: discuss.channel - a supervisor closes a session they are not a member of; the
        # check below decides whether they may
        session = self.sudo()
        session._livechat_check_supervisor(
            self.env._(
                "Only the supervisors of %(channel)s and Live Chat administrators may close its "
                "sessions from the supervision board."
            )
        )
        session._livechat_check_open()
        operator = session._livechat_operator_user()
        session._livechat_post_notice(self.env._("%(user)s closed this session.", user=self.env.user.name))
        session.livechat_active = False
        session._livechat_end_routing(operator)
        return True

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _livechat_check_supervisor(self, refusal):
        """Raise ``refusal`` unless the current user supervises this session's live chat.

        :param str refusal: the translated message, with a ``%(channel)s`` placeholder
        """
        channel = self.livechat_channel_id
        if channel and channel._livechat_is_supervisor(self.env.user):
            return
        raise AccessError(refusal % {"channel": channel.name or self.env._("this live chat")})

    def _livechat_end_routing(self, operator):
        """The session is over: it leaves the board's open columns, and its operator can take
        the next waiting session."""
        left_queue = self.livechat_group_id if self.livechat_routing_state == "queued" else None
        # sudo: discuss.channel - the end of a session ends its routing, whoever ended it
        self.sudo().livechat_routing_state = "closed"
        if left_queue:
            self._livechat_refresh_queue_notices(left_queue)
        self.env["livechat.group"]._livechat_dispatch_queues_of(operator)

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

    def _livechat_operator_user(self):
        """The user who holds this session now (empty when it waits, is closed or is not grouped)."""
        if self.livechat_routing_state != "assigned":
            return self.env["res.users"]
        return self.livechat_operator_user_id

    def _livechat_queue_groups(self):
        """The groups that may answer this session: every entry group of its live chat while it
        waits for a general operator, else the group it was forwarded to (back to the entry
        groups when that group was archived or left the live chat)."""
        channel = self.livechat_channel_id
        entry_groups = channel._entry_group_ids()
        if self.livechat_group_id in channel._operator_group_ids() - entry_groups:
            return self.livechat_group_id
        return entry_groups

    def _livechat_route_session(self, groups=None, exclude_users=None):
        """Route this session with the one routing service of its live chat: the way every
        routing of an existing session goes (queues, requeue, forward), so that who asked in it
        never answers it.

        :param groups: ``livechat.group`` to route to (default: :meth:`_livechat_queue_groups`)
        :param exclude_users: ``res.users`` who must not get it (e.g. who just left it)
        :return: ``(res.users, livechat.group)``, see ``im_livechat.channel._livechat_route``
        """
        self.ensure_one()
        exclude = (exclude_users or self.env["res.users"]) | self._livechat_requester_user()
        return self.livechat_channel_id._livechat_route(
            self._livechat_queue_groups() if groups is None else groups,
            exclude_users=exclude,
            country_id=self.country_id.id,
        )

    def _livechat_requester_user(self):
        """The user who asked in this session (internal live chat), if any."""
        # sudo: res.partner - the requester's user, whoever routes
        return self.livechat_requester_id.sudo().with_context(active_test=False).user_ids.with_env(self.env)

    def _livechat_requeue(self, operator, why=None, kind="requeue"):
        """``operator`` no longer holds this open session (they left, were archived or are no
        longer an operator of its live chat): it goes to another member of its group, or back to
        its queue; never back to them.

        :param str why: what made them let it go, before the routing's own reason in the hop
        :param str kind: the hop's kind (``timeout`` when they did not answer in time)
        """
        decision = self._livechat_route_session(exclude_users=operator)
        user, group = decision
        reason = f"{why}; {decision.reason}" if why else decision.reason
        self._livechat_hand_over(kind, group, user, reason=reason)
        # the freed place goes to another waiting session, not back to this one
        self.env["livechat.group"]._livechat_dispatch_queues_of(operator, skip=self)

    @api.model
    def _livechat_release_sessions_of(self, users):
        """Hand back the open sessions that ``users`` hold where they no longer may: once
        archived, or no longer a member of an operator group of the session's live chat. They
        leave the conversation, and the session goes back to the routing (never to them)."""
        if not users:
            return
        # sudo: discuss.channel - the routing acts for the system, whoever changed the users
        held = self.sudo().search(
            [
                ("channel_type", "=", "livechat"),
                ("livechat_routing_state", "=", "assigned"),
                ("livechat_operator_user_id", "in", users.ids),
            ]
        )
        for session in held:
            operator = session.livechat_operator_user_id
            if operator.active and operator in session.livechat_channel_id._operator_group_ids().member_ids:
                continue
            session._action_unfollow(partner=operator.partner_id)

    @api.model
    def _livechat_id(self, value):
        """``value`` as a record id, or 0 when it is none (a malformed request): an integer, not
        a boolean, a string or a list."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return 0

    @api.model
    def _livechat_text(self, value, what):
        """``value`` as stripped text, or ``""`` when empty; a clear refusal when it is not text.

        :param str what: how to name the argument in the refusal ("The note")
        """
        if value is None or value is False:
            return ""
        if not isinstance(value, str):
            raise UserError(self.env._("%(what)s must be text.", what=what))
        return value.strip()

    def _livechat_check_open(self):
        if self.channel_type != "livechat" or not self.livechat_routing_state:
            raise UserError(self.env._("This conversation is not a session of a live chat with groups."))
        if self.livechat_routing_state == "closed" or not self.livechat_active:
            raise UserError(self.env._("This session is closed."))

    def _livechat_hand_over(self, kind, group, user, note=None, reason=None):
        """Give this session to ``user``, a member of ``group``, or put it in ``group``'s queue
        when ``user`` is empty; then record the hop and tell those concerned.

        :param str kind: the ``livechat.session.transfer`` kind of this hop
        :param str reason: why the routing chose ``user`` (see ``_livechat_route``), if it chose
        """
        self.ensure_one()
        if user and user.partner_id == self.livechat_requester_id:
            raise UserError(
                self.env._("%(user)s asked in this session: they cannot also answer it.", user=user.name)
            )
        from_group, from_user = self.livechat_group_id, self._livechat_operator_user()
        left_queue = self.livechat_routing_state == "queued" and from_group
        now = fields.Datetime.now()
        if user:
            if user.partner_id not in self.channel_member_ids.partner_id:
                self._add_members(users=user, open_chat_window=True)
            self.write(
                {
                    "livechat_group_id": group.id,
                    "livechat_routing_state": "assigned",
                    "livechat_operator_id": user.partner_id.id,
                    "livechat_assigned_date": now,
                    "livechat_routing_reason": reason or False,
                    "name": f"{self.livechat_visitor_name} {user.livechat_username or user.name}",
                }
            )
        else:
            self.write(
                {
                    "livechat_group_id": group.id,
                    "livechat_routing_state": "queued",
                    "livechat_operator_id": self.env.ref("base.partner_root").id,
                    "livechat_queued_date": now,
                    "livechat_routing_reason": reason or False,
                    "name": f"{self.livechat_visitor_name} ({group.name})",
                }
            )
        self._livechat_after_hand_over(kind, from_group, from_user, note=note)
        if left_queue and not self.env.context.get("livechat_groups_defer_queue_notices"):
            self._livechat_refresh_queue_notices(from_group)

    def _livechat_after_hand_over(self, kind, from_group, from_user, note=None, notify=True):
        """Record the hop that just happened and tell those concerned."""
        user = self._livechat_operator_user()
        self.env["livechat.timers"]._livechat_start_answer_clock(self)
        self.env["livechat.session.transfer"].create(
            {
                "session_id": self.id,
                "kind": kind,
                "from_group_id": from_group.id,
                "to_group_id": self.livechat_group_id.id,
                "from_user_id": from_user.id,
                "to_user_id": user.id,
                "note": note,
                "reason": self.livechat_routing_reason,
            }
        )
        if not user:
            self._livechat_post_queue_notice()
            return
        # Writing the operator's settings row makes two transactions that give them a session at
        # once conflict: the second one is retried and then sees the first one's session. The row
        # exists for any user the routing picks: they are online, and their web client created it.
        # Flushed at once so that the conflict comes before get_session creates the visitor's
        # guest: Odoo's retry rolls the guest back but keeps it in the request's context.
        # sudo: res.users.settings - the routing records when it last served this operator
        settings = self.env["res.users.settings"].sudo()._find_or_create_for_user(user)
        settings.livechat_last_assigned_date = self.livechat_assigned_date
        settings.flush_recordset()
        if not notify:
            return
        # the placeholder that held the waiting session leaves it
        self.channel_member_ids.filtered(lambda m: m.partner_id == self.env.ref("base.partner_root")).unlink()
        self._broadcast(user.partner_id.ids)
        self._bus_send_store(
            self,
            {
                "name": self.name,
                "operator": Store.one(
                    self.livechat_operator_id, fields=["avatar_128", "user_livechat_username"]
                ),
            },
        )

    def _livechat_post_queue_notice(self):
        """Tell the visitor that they wait, and their place in the queue."""
        # the queue's order: waiting since, then id
        position = self.search_count(
            [
                ("livechat_group_id", "=", self.livechat_group_id.id),
                ("livechat_routing_state", "=", "queued"),
                "|",
                ("livechat_queued_date", "<", self.livechat_queued_date),
                "&",
                ("livechat_queued_date", "=", self.livechat_queued_date),
                ("id", "<=", self.id),
            ]
        )
        self.livechat_queue_notice_id = self._livechat_post_notice(self._livechat_queue_notice_body(position))
        self._livechat_post_closed_notice()

    def _livechat_post_closed_notice(self):
        """When every group that may answer this waiting session is outside its business hours,
        tell the visitor when the desk opens again, in their language and time zone when known."""
        guest = self.channel_member_ids.guest_id[:1]
        tz = self.livechat_requester_id.tz or guest.timezone or None
        env = self.with_context(lang=self.env["livechat.timers"]._livechat_visitor_lang(self)).env
        # sudo: livechat.group - the visitor may know when the desk opens, not who is in it
        when = self._livechat_queue_groups().with_env(env(su=True))._livechat_opening_text(tz=tz)
        if when:
            self._livechat_post_notice(
                env._(
                    "We are closed right now: we answer again from %(when)s. You may write your "
                    "question now, it waits for us.",
                    when=when,
                )
            )

    def _livechat_queue_notice_body(self, position):
        # the place is marked so that the notice can be kept up to date in its own language
        return Markup(
            self.env._(
                "All our operators are busy: you are number %(position)s in the queue of %(group)s. "
                "Stay here, we will answer you as soon as possible; what you write now is kept."
            )
        ) % {
            "position": Markup('<span class="o_livechat_groups_position">%s</span>') % position,
            "group": self.livechat_group_id.name,
        }

    @api.model
    def _livechat_refresh_queue_notices(self, groups):
        """Someone left the queues of ``groups``: the visitors behind them moved up, and their
        notice says so (the same message, its place rewritten, rather than a new one each time)."""
        # sudo: discuss.channel, mail.message - the queue moves for everyone who waits in it
        waiting = self.sudo().search(
            [("livechat_routing_state", "=", "queued"), ("livechat_group_id", "in", groups.ids)],
            order="livechat_queued_date, id",
        )
        for _group, sessions in waiting.grouped("livechat_group_id").items():
            for position, session in enumerate(sessions, start=1):
                notice = session.livechat_queue_notice_id
                if not notice:
                    continue
                # on the plain text of the stored HTML: re on Markup would escape the groups
                html = str.__str__(notice.body)
                body = QUEUE_POSITION.sub(rf"\g<1>{position}\g<2>", html)
                if body != html:
                    notice.body = Markup(body)
                    notice._bus_send_store(notice, {"body": notice.body, "write_date": notice.write_date})

    def _livechat_post_operator_note(self, body):
        """Post an internal note for the session's operators (see :meth:`_notify_thread`)."""
        return self.message_post(body=body, message_type="comment", subtype_xmlid="mail.mt_note")

    def _livechat_staff_partners(self):
        """The members who work on this session: internal users, but not its requester."""
        partners = self.channel_member_ids.partner_id - self.livechat_requester_id
        return partners.filtered(lambda partner: partner.user_ids and not partner.partner_share)

    def _notify_thread(self, message, msg_vals=False, **kwargs):
        # an internal note of a live chat session is for its staff: neither the live update of
        # the conversation nor a push reaches the visitor or the employee who asked
        channel = self.with_context(livechat_groups_note=True) if message._livechat_is_staff_note() else self
        return super(DiscussChannel, channel)._notify_thread(message, msg_vals=msg_vals, **kwargs)

    def _notify_get_recipients(self, message, msg_vals=False, **kwargs):
        recipients = super()._notify_get_recipients(message, msg_vals=msg_vals, **kwargs)
        if self.env.context.get("livechat_groups_note"):
            staff = set(self._livechat_staff_partners().ids)
            recipients = [recipient for recipient in recipients if recipient["id"] in staff]
        return recipients

    def _bus_send(self, notification_type, message, /, *, subchannel=None):
        if (
            self.env.context.get("livechat_groups_note")
            and notification_type == "discuss.channel/new_message"
            and subchannel is None
        ):
            self.ensure_one()
            return self._livechat_staff_partners()._bus_send(notification_type, message)
        return super()._bus_send(notification_type, message, subchannel=subchannel)

    def _livechat_post_notice(self, body):
        """Post a notice of the routing, by OdooBot, that the visitor and operators see."""
        return self.message_post(
            author_id=self.env.ref("base.partner_root").id,
            body=Markup('<div class="o_mail_notification">%s</div>') % body,
            message_type="notification",
            subtype_xmlid="mail.mt_comment",
        )
