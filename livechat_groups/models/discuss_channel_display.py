from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import html2plaintext
from odoo.tools.translate import get_translation

from odoo.addons.mail.tools.discuss import Store

# how much of the visitor's first message names them on the Waiting list, the board, the sidebar
FIRST_WORDS = 24


class DiscussChannel(models.Model):
    """What people see of a session of a grouped live chat in Discuss and in the visitor's
    widget: who the conversation is with (each side reads the other's name), who joined it (a
    note for its staff), and the waiting sessions an operator may take."""

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
                and user.partner_id not in session._livechat_customer_partners()
            )

    livechat_can_forward = fields.Boolean(
        string="Can Forward",
        compute="_compute_livechat_can_act",
        help="You hold this session, or supervise its live chat: you may forward it.",
    )
    livechat_can_close = fields.Boolean(
        string="Can Close",
        compute="_compute_livechat_can_act",
        help="You hold this session, or supervise its live chat: you may close it.",
    )

    @api.depends_context("uid")
    @api.depends("livechat_routing_state", "livechat_operator_id", "livechat_active")
    def _compute_livechat_can_act(self):
        for session in self:
            # sudo: discuss.channel - who holds it and whose live chat it is, for the buttons only
            # (the actions check again on the server)
            may = session.livechat_active and session.sudo()._livechat_may_steer()
            session.livechat_can_forward = session.livechat_can_close = may

    def _livechat_may_steer(self):
        """Whether the current user may forward or close this open session: its operator, a
        supervisor of its live chat, a Live Chat administrator."""
        self.ensure_one()
        if self.livechat_routing_state not in ("queued", "assigned"):
            return False
        user = self.env.user
        return self._livechat_operator_user() == user or bool(
            self.livechat_channel_id._livechat_is_supervisor(user)
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
                self._livechat_joined_note(member.partner_id or member.guest_id)
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

    def _livechat_joined_note(self, persona):
        """The staff's note that ``persona`` (``res.partner`` or ``mail.guest``) joined the session."""
        return Markup('<div class="o_mail_notification">%s</div>') % self.env._(
            "%(name)s joined the conversation.", name=persona.name
        )

    def _livechat_tell_new_operator(self, user):
        """``user`` was given this session by someone else (the routing, a supervisor, a
        colleague's forward): they are told in their language, and their Discuss opens it, as
        after a Take."""
        # sudo: livechat.group - the group's name is the operator's to read
        message = self.with_context(lang=user.lang).env._(
            "New session: %(visitor)s (%(group)s)",
            visitor=self.livechat_visitor_name or self.name,
            group=self.sudo().livechat_group_id.name,
        )
        user.partner_id._bus_send("livechat_groups/session_given", {"id": self.id, "message": message})

    def _message_post_after_hook(self, message, msg_vals):
        res = super()._message_post_after_hook(message, msg_vals)
        if (
            self.livechat_routing_state in ("queued", "assigned")
            and message.message_type == "comment"
            and message.author_guest_id
            and self._livechat_has_generic_visitor_name()
        ):
            self._livechat_name_anonymous_visitor(message)
        return res

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _livechat_has_generic_visitor_name(self):
        """Whether who asked is only "Visitor" (stock's name for an anonymous visitor of the
        widget, in any installed language): then every one of them reads the same on the
        Waiting list, the board and the sidebar. With ``website_livechat``, stock names them by
        their visitor number instead."""
        self.ensure_one()
        if self.livechat_requester_id or self.livechat_messenger_partner_id:
            return False
        generic = {
            get_translation("im_livechat", code, "Visitor", ())
            for code, _name in self.env["res.lang"].get_installed()
        }
        return (self.livechat_visitor_name or "").strip() in generic

    def _livechat_name_anonymous_visitor(self, message):
        """Name the anonymous visitor who just wrote their first ``message`` so that they can be
        told apart at a glance: "Visitor · FR · “my order 1234…”" (their country when known, the
        first words they wrote). The session's name follows; Discuss, the Waiting list and the
        board all read it from ``livechat_visitor_name``."""
        words = " ".join(html2plaintext(message.body or "").split())
        if not words:
            return
        snippet = words if len(words) <= FIRST_WORDS else words[:FIRST_WORDS].rstrip() + "…"
        # sudo: res.country - the visitor's country code names them
        country = self.sudo().country_id.code
        old = self.livechat_visitor_name
        label = " · ".join(part for part in (old, country, f"“{snippet}”") if part)
        values = {"livechat_visitor_name": label}
        if self.name and self.name.startswith(old):
            values["name"] = label + self.name[len(old) :]
        # sudo: discuss.channel - the visitor who wrote may not write who the session is with
        self.sudo().write(values)
        self._bus_send_store(self, {"name": self.name, **self._livechat_display_values()})

    def _livechat_display_values(self):
        """The names each side reads in the conversation's header: the operators read the
        visitor's (or the employee's) name; the visitor and the employee read the operator's,
        or the group's while they wait.

        :return: the values added to the session in the store
        """
        self.ensure_one()
        operator = self.livechat_operator_id if self.livechat_routing_state != "queued" else None
        if operator == self._livechat_odoobot():
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
                ("livechat_messenger_partner_id", "!=", user.partner_id.id),
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
