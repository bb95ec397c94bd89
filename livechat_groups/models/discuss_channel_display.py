from markupsafe import Markup

from odoo import api, fields, models

from odoo.addons.mail.tools.discuss import Store


# split by concern from discuss_channel.py (style guide: a file past ~500 lines is split)
class DiscussChannel(models.Model):
    """What people see of a session of a grouped live chat in Discuss and in the visitor's
    widget: who the conversation is with, and the waiting sessions an operator may take."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_can_take = fields.Boolean(
        string="Can Take",
        compute="_compute_livechat_can_take",
        help="The session waits in the queue of one of your groups: you may take it.",
    )

    @api.depends_context("uid")
    @api.depends("livechat_routing_state", "livechat_group_id")
    def _compute_livechat_can_take(self):
        user = self.env.user
        for session in self:
            # sudo: livechat.group - whether the user is a member of the session's group
            session.livechat_can_take = (
                session.livechat_routing_state == "queued"
                and user in session.sudo().livechat_group_id.member_ids
                and session.livechat_requester_id != user.partner_id
            )

    # ------------------------------------------------------------
    # Stock hooks
    # ------------------------------------------------------------

    def _to_store(self, store: Store):
        res = super()._to_store(store)
        for session in self.filtered("livechat_routing_state"):
            store.add(session, session._livechat_display_values())
        return res

    def _add_members(self, *, post_joined_message=True, **kwargs):
        grouped = self.filtered("livechat_routing_state")
        if not grouped or not post_joined_message:
            return super()._add_members(post_joined_message=post_joined_message, **kwargs)
        # Who joins a session (an operator handed it, a supervisor stepping in) is for its
        # staff: stock's "OdooBot invited @Gary" or "Elena invited @Gina" would tell the visitor
        # names they were not meant to read. The visitor reads who answers them in the header.
        members = super(DiscussChannel, grouped)._add_members(post_joined_message=False, **kwargs)
        for member in members:
            member.channel_id._livechat_post_operator_note(
                Markup('<div class="o_mail_notification">%s</div>')
                % self.env._(
                    "%(name)s joined the conversation.", name=member.partner_id.name or member.guest_id.name
                )
            )
        # posting notifies the members, which may create their settings rows behind the users'
        # cached ones: the routing reads them right after
        self.env["res.users"].invalidate_model(["res_users_settings_ids"])
        rest = self - grouped
        if rest:
            members |= super(DiscussChannel, rest)._add_members(
                post_joined_message=post_joined_message, **kwargs
            )
        return members

    def _message_post_after_hook(self, message, msg_vals):
        res = super()._message_post_after_hook(message, msg_vals)
        visitor_wrote = message.author_guest_id or (
            message.author_id and message.author_id == self.livechat_requester_id
        )
        if self.livechat_routing_state == "queued" and message.message_type == "comment" and visitor_wrote:
            self._livechat_move_queue_notice_below(message)
        return res

    def _livechat_move_queue_notice_below(self, message):
        """The queue notice is posted when the session starts, just before the visitor's first
        words: it moves below them once, so that the conversation reads in order, live and
        after a reload alike."""
        # sudo: mail.message - OdooBot's notice, moved for whoever wrote
        notice = self.livechat_queue_notice_id.sudo()
        odoobot = self.env.ref("base.partner_root")
        if not notice or notice.id > message.id or message.author_id == odoobot:
            return
        Message = self.env["mail.message"].sudo()
        domain = [
            ("model", "=", self._name),
            ("res_id", "=", self.id),
            ("message_type", "=", "comment"),
            ("author_id", "!=", odoobot.id),
            ("id", "!=", message.id),
        ]
        if Message.search_count([*domain, ("id", "<", notice.id)], limit=1):
            return  # the visitor had written before the notice: it is where it belongs
        if Message.search_count([*domain, ("id", ">", notice.id)], limit=1):
            return  # already moved once
        self._bus_send("mail.message/delete", {"message_ids": notice.ids})
        notice.unlink()
        # sudo: discuss.channel - the visitor who wrote may not write the routing's notice field
        self.sudo()._livechat_post_queue_notice()
        self._livechat_add_notices_to_post_answer(message)

    def _livechat_add_notices_to_post_answer(self, message):
        """Put the notices posted after the visitor's ``message`` in the answer to its post, which
        their widget adds to the conversation. The bus alone may not bring them: the widget
        subscribes to the session it has just created while its first message is on its way."""
        store = self.env.context.get("message_post_store")
        if not store:
            return
        # sudo: mail.message - OdooBot's notices to the visitor, just posted for them
        notices = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("id", ">", message.id),
                    ("author_id", "=", self.env.ref("base.partner_root").id),
                    ("message_type", "=", "notification"),
                ],
                order="id",
            )
        )
        notices = notices.filtered(lambda notice: not notice._livechat_is_staff_note())
        if notices:
            # the visitor's own message first: their widget reads it as the answer's first message
            store.add(message, for_current_user=True)
            store.add(self, {"messages": Store.many(notices, "ADD", for_current_user=True)}, as_thread=True)

    def _livechat_queue_notice_body(self, position):
        """The visitor's queue notice, in honest words: in manual routing an operator takes it
        by hand, and when nobody of the group is online nobody answers soon."""
        channel = self.livechat_channel_id
        # sudo: livechat.group, res.users - whether anyone of the group is online
        members = self.sudo().livechat_group_id.member_ids
        if channel.routing_mode == "manual":
            text = self.env._(
                "Your request waits for an operator to take it: you are number %(position)s in the "
                "queue of %(group)s. What you write now is kept."
            )
        elif not any(member._is_user_available() for member in members):
            text = self.env._(
                "Nobody is online right now: you are number %(position)s in the queue of %(group)s, "
                "and we will answer you when someone is back. What you write now is kept; you may "
                "also come back later."
            )
        else:
            return super()._livechat_queue_notice_body(position)
        return Markup(text) % {
            "position": Markup('<span class="o_livechat_groups_position">%s</span>') % position,
            "group": self.livechat_group_id.name,
        }

    def _livechat_after_hand_over(self, kind, from_group, from_user, note=None, notify=True):
        res = super()._livechat_after_hand_over(kind, from_group, from_user, note=note, notify=notify)
        operator = self._livechat_operator_user()
        # sudo: mail.message - OdooBot's notice is rewritten by whoever handed the session over
        notice = self.livechat_queue_notice_id.sudo()
        if operator and notice:
            # the visitor's queue notice no longer says they wait: it says who answers them
            notice.body = Markup('<div class="o_mail_notification">%s</div>') % self.env._(
                "%(operator)s is answering you now.", operator=operator.livechat_username or operator.name
            )
            notice._bus_send_store(notice, {"body": notice.body, "write_date": notice.write_date})
            # sudo: discuss.channel - the notice is done: the routing forgets it
            self.sudo().livechat_queue_notice_id = False
        odoobot = self.env.ref("base.partner_root")
        if not operator and odoobot not in self.channel_member_ids.partner_id:
            # back in a queue (a forward, a requeue): OdooBot holds the session again, as a
            # member, so that the visitor's widget may read who holds it
            # sudo: discuss.channel.member - the routing adds its placeholder
            self.env["discuss.channel.member"].sudo().create(
                {"channel_id": self.id, "partner_id": odoobot.id}
            )
        if notify:
            # every member's header follows the hand-over: the visitor's names the new operator,
            # or the group while they wait
            self._bus_send_store(self, self._livechat_display_values())
        return res

    def _livechat_notify_board(self):
        res = super()._livechat_notify_board()
        # the operators of the sessions' groups refresh their "Waiting" list in Discuss: one
        # notification per group, on its bus channel (see ir.websocket)
        # sudo: livechat.group - the groups' news go out whoever changed the sessions
        for group, sessions in self.sudo().grouped("livechat_group_id").items():
            if group:
                group._bus_send("livechat_groups.queue_update", {"session_ids": sessions.ids})
        return res

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _livechat_display_values(self):
        """The names each side reads in the conversation's header: the operators read the
        visitor's (or the employee's) name; the visitor and the employee read the operator's,
        or the group's while they wait.

        :return: the values added to the session in the store
        """
        self.ensure_one()
        operator = self.livechat_operator_id if self.livechat_routing_state != "queued" else None
        if operator == self.env.ref("base.partner_root"):
            operator = None
        # sudo: res.partner - the operator's name is what the visitor reads of them
        operator_name = operator and (operator.sudo().user_livechat_username or operator.sudo().name)
        return {
            "livechat_routing_state": self.livechat_routing_state,
            # sudo: livechat.group - the name of the group the visitor waits for is theirs to read
            "livechat_group_name": self.sudo().livechat_group_id.name or False,
            "livechat_visitor_name": self.livechat_visitor_name or False,
            "livechat_requester_id": self.livechat_requester_id.id or False,
            "livechat_operator_name": operator_name or False,
        }

    def _livechat_hand_over_feedback(self, left=False):
        """The confirmation shown to who just forwarded or assigned this session: where it is
        now, in plain words, and a warning when nobody will answer it right away.

        :param bool left: whether the user who acted left the conversation
        :return: ``{"message": str, "type": "success" | "warning"}``
        """
        self.ensure_one()
        # sudo: discuss.channel - the user may have just left the session they forwarded
        session = self.sudo()
        visitor = session.livechat_visitor_name or session.name
        operator = session._livechat_operator_user()
        kind = "success"
        if operator:
            message = self.env._(
                "%(visitor)s is now with %(operator)s (%(group)s).",
                visitor=visitor,
                operator=operator.name,
                group=session.livechat_group_id.name,
            )
            if not operator._is_user_available():
                kind = "warning"
                message += " " + self.env._(
                    "%(operator)s is not online: they will see it when they come back.",
                    operator=operator.name,
                )
        else:
            kind = "warning"
            message = self.env._(
                "%(visitor)s waits in the queue of %(group)s: nobody there can answer right now.",
                visitor=visitor,
                group=session.livechat_group_id.name,
            )
        if left:
            message += " " + self.env._("You left the conversation.")
        return {"message": message, "type": kind}

    def livechat_hand_over_feedback(self):
        """:meth:`_livechat_hand_over_feedback` for the supervision board, after a card was
        dropped on an operator; only for who may read the session."""
        self.ensure_one()
        self.check_access("read")
        return self._livechat_hand_over_feedback()

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
        stats = channels[:1]._livechat_operator_stats(operators)
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

    @api.model
    def livechat_waiting_sessions(self):
        """The waiting sessions of the current user's groups, oldest first, for the "Waiting"
        list of their Discuss sidebar.

        :return: a list of ``{id, visitor, group, waiting_since, last_message}``
        """
        user = self.env.user
        if not user._is_internal():
            return []
        # sudo: livechat.group, discuss.channel - an operator sees the queue of their groups,
        # sessions they are not yet a member of
        groups = self.env["livechat.group"].sudo().search([("member_ids", "in", user.id)])
        sessions = self.sudo().search(
            [
                ("livechat_routing_state", "=", "queued"),
                ("livechat_group_id", "in", groups.ids),
                ("livechat_requester_id", "!=", user.partner_id.id),
            ],
            order="livechat_queued_date, id",
            limit=50,
        )
        now = fields.Datetime.now()
        return [
            {
                "id": session.id,
                "visitor": session.livechat_visitor_name or session.name,
                "group": session.livechat_group_id.name,
                "minutes": int((now - session.livechat_queued_date).total_seconds() // 60)
                if session.livechat_queued_date
                else 0,
                "last_message": session.livechat_last_message,
                "overdue": session.livechat_board_overdue,
            }
            for session in sessions
        ]

    def livechat_take_session(self):
        """Take this waiting session (see :meth:`action_livechat_take`) and return it for
        Discuss to open.

        :return: the session's store data
        """
        self.ensure_one()
        self.action_livechat_take()
        return Store(self.browse(self.id)).get_result()

    def action_livechat_take_open(self):
        """Take this waiting session from its form, then open it in Discuss."""
        self.ensure_one()
        self.action_livechat_take()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "You took the session of %(visitor)s.", visitor=self.livechat_visitor_name
                ),
                "next": {
                    "type": "ir.actions.client",
                    "tag": "mail.action_discuss",
                    "context": {"active_id": f"{self._name}_{self.id}"},
                },
            },
        }
