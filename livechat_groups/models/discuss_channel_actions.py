from odoo import models
from odoo.exceptions import AccessError, UserError

from odoo.addons.mail.tools.discuss import Store


class DiscussChannel(models.Model):
    """What people do to a session of a grouped live chat: an operator takes it; a supervisor
    assigns, joins or closes it; its operator or a supervisor forwards it. Each action checks
    on the server who may do it, then hands the session to the routing service
    (``livechat.routing``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def action_livechat_take(self):
        """An operator takes a waiting session of one of their groups."""
        self.ensure_one()
        self._livechat_check_known()
        user = self.env.user
        # sudo: discuss.channel - a waiting session is not yet the operator's; the checks below
        # decide whether they may take it
        session = self.sudo()
        session._livechat_check_open()
        if session.livechat_routing_state != "queued":
            # what the user saw waiting (their list, or a board read from a lagging replica) was
            # taken meanwhile: say by whom and when
            raise UserError(
                self.env._(
                    "This session is no longer waiting: %(change)s", change=session._livechat_change_message()
                )
            )
        if user not in session.livechat_group_id.member_ids:
            raise AccessError(
                self.env._(
                    "Only the members of %(group)s may take this session.",
                    group=session.livechat_group_id.name,
                )
            )
        channel = session.livechat_channel_id
        Routing = session.env["livechat.routing"]
        if not Routing._below_capacity(channel, user):
            raise UserError(
                self.env._(
                    "You already hold %(count)s sessions, the most an operator of %(channel)s may hold "
                    "at once: close one first.",
                    count=channel.max_sessions_per_operator,
                    channel=channel.name,
                )
            )
        Routing._hand_over(session, "take", session.livechat_group_id, user)
        return True

    def action_livechat_assign(self, user_id, seen=None):
        """A supervisor of the live chat (or a Live Chat administrator) gives the session to a
        member of one of its operator groups; the operator's capacity does not bind them.

        :param dict seen: who held the session on the card the supervisor acted on (see
            ``discuss_channel_freshness``): refused, saying what changed, when it changed since;
            ``None`` assigns whatever changed (the supervisor confirmed)
        """
        self.ensure_one()
        self._livechat_check_known()
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
        session._livechat_check_unchanged(seen)
        group = session.livechat_group_id
        if user not in group.member_ids:
            group = operator_groups.filtered(lambda g: user in g.member_ids).sorted()[:1]
        session.env["livechat.routing"]._hand_over(session, "assign", group, user)
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
        self._livechat_check_known()
        note = self._livechat_text(note, self.env._("The note"))
        # sudo: discuss.channel - supervisors steer sessions they are not members of; the checks
        # below decide whether the caller may
        session = self.sudo()
        session._livechat_check_open()
        channel = session.livechat_channel_id
        Routing = session.env["livechat.routing"]
        previous = session._livechat_operator_user()
        if not session._livechat_may_steer():
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
            decision = Routing._decide_for(session, group, exclude_users=previous)
            user, group = decision
            reason = decision.reason
        if note:
            session._livechat_post_operator_note(note)
        visitor_env = session._livechat_visitor_env()
        session._livechat_post_notice(
            visitor_env._("You are transferred to %(group)s.", group=group.with_env(visitor_env).name)
        )
        Routing._hand_over(session, "forward", group, user, note=note or None, reason=reason)
        if previous and not stay and previous != user:
            # after the new operator joined, so that the visitor is never left alone
            session._action_unfollow(partner=previous.partner_id)
        # the previous operator holds one session fewer, for another waiting session than this one
        Routing._serve_queues(freed_by=previous, skip=session)
        return True

    def action_livechat_join(self):
        """A supervisor of the live chat (or a Live Chat administrator) enters the conversation:
        they become a member of it, and Discuss opens on it."""
        self.ensure_one()
        self._livechat_check_known()
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
        """The operator who holds the session, a supervisor of the live chat or a Live Chat
        administrator ends it: the visitor is told politely, and the operator is free for the
        next one at once."""
        self.ensure_one()
        self._livechat_check_known()
        # sudo: discuss.channel - a supervisor closes a session they are not a member of; the
        # check below decides whether they may
        session = self.sudo()
        session._livechat_check_open()
        if not session._livechat_may_steer():
            raise AccessError(
                self.env._(
                    "Only the operator of this session, the supervisors of %(channel)s and Live Chat "
                    "administrators may close it.",
                    channel=session.livechat_channel_id.name,
                )
            )
        operator = session._livechat_operator_user()
        notice = session._livechat_visitor_env()._(
            "%(user)s ended the conversation. Thank you for writing to us: write again any time to "
            "start a new one.",
            user=self.env.user.livechat_username or self.env.user.name,
        )
        session.env["livechat.routing"]._end(session, operator, notice=notice)
        return True

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

    # ------------------------------------------------------------
    # What the user who acted reads
    # ------------------------------------------------------------

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
