from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.http import request

# what decides who reads and answers a live chat's sessions: only Live Chat administrators set it
ADMIN_FIELDS = (
    "audience",
    "entry_group_ids",
    "specialist_group_ids",
    "supervisor_group_ids",
    "requester_group_ids",
    "routing_mode",
    "max_sessions_per_operator",
    "wait_alert_minutes",
    "answer_timeout_minutes",
    "away_grace_minutes",
    "inactivity_close_minutes",
    "answer_target_minutes",
    "livechat_messenger_rating",
)


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"

    audience = fields.Selection(
        selection=[("external", "External"), ("internal", "Internal")],
        required=True,
        default="external",
        help="External: visitors of your website (the live chat widget). "
        "Internal: employees of the requester groups, from Discuss.",
    )
    entry_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_entry_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Entry Groups",
        help="General operators: new requests go to an available member of these groups, "
        "in the groups' order, or wait in the first group's queue. "
        "Without entry groups, the live chat routes to its operators as stock Odoo does.",
    )
    specialist_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_specialist_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Specialist Groups",
        help="Groups to which operators forward the sessions that need an expert.",
    )
    supervisor_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_supervisor_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Supervisor Groups",
        help="Members see every session of this live chat on the supervision board, "
        "and assign, reassign and join them.",
    )
    requester_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_requester_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Requester Groups",
        help="Internal live chat only: the employees who may start a session.",
    )
    routing_mode = fields.Selection(
        selection=[("auto", "Automatic"), ("manual", "Manual")],
        required=True,
        default="auto",
        help="Automatic: the least busy available member of the entry groups gets each new "
        "session. Manual: new sessions wait in the queue until a supervisor assigns them "
        "or an operator takes them.",
    )
    max_sessions_per_operator = fields.Integer(
        string="Max Sessions per Operator",
        default=0,
        help="How many open sessions an operator of the groups handles at once; " "0 means no limit.",
    )
    wait_alert_minutes = fields.Integer(
        string="Waiting Alert (minutes)",
        default=5,
        help="On the supervision board, a session that has waited this many minutes in a queue "
        "turns red; 0 never warns.",
    )
    # over time (see livechat.timers)
    answer_timeout_minutes = fields.Integer(
        string="No Answer Timeout (minutes)",
        default=0,
        help="When the operator who got a session has not written to the visitor within this "
        "time, the session goes to another available member of its group, or back to the "
        "front of its queue. 0: never.",
    )
    away_grace_minutes = fields.Integer(
        string="Away Operator Grace (minutes)",
        default=0,
        help="When an operator has been offline this long, their open sessions go back to the "
        "routing, and the visitors are told. 0: never.",
    )
    inactivity_close_minutes = fields.Integer(
        string="Close Inactive Sessions After (minutes)",
        default=0,
        help="A session in progress where nobody wrote for this long is closed with a notice, "
        "which frees its operator. A visitor who writes again starts a new session, routed to "
        "the same operator first. 0: never.",
    )
    answer_target_minutes = fields.Integer(
        string="First Answer Target (minutes)",
        default=0,
        help="How soon a request should get its first answer. The supervision board shows each "
        "session against it (on time, at risk, breached), and the figures count the sessions "
        "answered within it. 0: no target.",
    )

    livechat_can_configure = fields.Boolean(
        compute="_compute_livechat_can_configure",
        help="Whether the current user may set the groups, audience, routing and capacity.",
    )

    _sql_constraints = [
        (
            "max_sessions_per_operator_positive",
            "CHECK(max_sessions_per_operator >= 0)",
            "The maximum number of sessions per operator cannot be negative (0 means no limit).",
        ),
        (
            "livechat_timers_positive",
            "CHECK(answer_timeout_minutes >= 0 AND away_grace_minutes >= 0 "
            "AND inactivity_close_minutes >= 0 AND answer_target_minutes >= 0)",
            "The timers and the answer target of a live chat cannot be negative (0 switches them off).",
        ),
        (
            "wait_alert_minutes_positive",
            "CHECK(wait_alert_minutes >= 0)",
            "The waiting alert cannot be negative (0 never warns).",
        ),
    ]

    # ------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------

    @api.constrains("entry_group_ids", "specialist_group_ids")
    def _check_entry_specialist_groups(self):
        for channel in self:
            if both := channel.entry_group_ids & channel.specialist_group_ids:
                raise ValidationError(
                    self.env._(
                        "%(groups)s cannot be both an entry group and a specialist group of the "
                        "live chat %(channel)s: a session forwarded to specialists must leave the "
                        "entry groups.",
                        groups=", ".join(both.mapped("name")),
                        channel=channel.name,
                    )
                )

    @api.constrains("audience", "requester_group_ids")
    def _check_requester_groups(self):
        for channel in self:
            if channel.audience == "internal" and not channel.requester_group_ids:
                raise ValidationError(
                    self.env._(
                        "The internal live chat %(channel)s needs at least one requester group: "
                        "only the members of its requester groups may start a session.",
                        channel=channel.name,
                    )
                )
            if channel.audience == "external" and channel.requester_group_ids:
                raise ValidationError(
                    self.env._(
                        "The live chat %(channel)s is external, so anyone visiting the website may "
                        "write to it: requester groups (%(groups)s) apply to internal live chats "
                        "only.",
                        channel=channel.name,
                        groups=", ".join(channel.requester_group_ids.mapped("name")),
                    )
                )

    @api.depends_context("uid")
    def _compute_livechat_can_configure(self):
        can = self.env.user.has_group("im_livechat.im_livechat_group_manager")
        for channel in self:
            channel.livechat_can_configure = can

    @api.onchange("audience")
    def _onchange_audience(self):
        if self.audience == "external":
            self.requester_group_ids = False

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        # a live chat created with the fields' own defaults (not the context's) is stock's: only
        # what differs from them needs the right
        defaults = {
            name: self._fields[name].default(self) if self._fields[name].default else False
            for name in ADMIN_FIELDS
        }
        channels._livechat_check_admin_fields(dict.fromkeys(channels.ids, defaults))
        channels._staff_group_ids()._grant_livechat_user_group()
        return channels

    def write(self, vals):
        before = self._livechat_admin_values() if set(ADMIN_FIELDS) & vals.keys() else None
        staffing = {"entry_group_ids", "specialist_group_ids", "supervisor_group_ids", "active"} & vals.keys()
        # sudo: livechat.group - who operates these live chats, whoever changes them
        staff_before = self.sudo()._staff_group_ids().member_ids if staffing else None
        operators_before = self.sudo()._operator_group_ids().member_ids if staffing else None
        res = super().write(vals)
        if before is not None:
            self._livechat_check_admin_fields(before)
        if {"answer_target_minutes", "entry_group_ids"} & vals.keys():
            # sudo: livechat.session.report - the figures of every session follow the settings
            self.env["livechat.session.report"].sudo()._livechat_refresh_settings(self.ids)
        if staffing:
            self._staff_group_ids()._grant_livechat_user_group()
            # an operator whose group left the live chat hands its sessions back
            self.env["livechat.routing"]._release(operators_before)
            self.env["livechat.group"]._livechat_resubscribe(
                staff_before | self.sudo()._staff_group_ids().member_ids
            )
            # and the queue of that group goes to the entry groups, as when it is archived
            self.env["livechat.routing"]._move_stranded(self)
        return res

    def unlink(self):
        # Deleting a live chat ends its open sessions, as stock leaves its sessions without a live
        # chat: nothing would serve its queues any more. Each visitor is told; the operators are
        # free for the sessions of their other live chats. The waiting ones end first, so that
        # none of them is handed to an operator freed by another.
        # sudo: discuss.channel - the routing ends the sessions, whoever deletes the live chat
        sessions = (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [
                    ("livechat_channel_id", "in", self.ids),
                    ("livechat_routing_state", "in", ("queued", "assigned")),
                ],
                order="livechat_routing_state desc, id",
            )
        )
        Routing = self.env["livechat.routing"]
        for session in sessions:
            Routing._end(
                session,
                session._livechat_operator_user(),
                notice=session._livechat_visitor_env()._(
                    "This live chat is no longer available, so the conversation ends here. Thank you "
                    "for writing to us."
                ),
            )
        return super().unlink()

    def _livechat_admin_values(self):
        """The values of :data:`ADMIN_FIELDS` of each live chat, comparable with
        :meth:`default_get`'s (ids for relations).

        :return: ``{channel_id: {field: value}}``
        """
        # sudo: im_livechat.channel - the comparison reads every group, archived ones included
        channels = self.sudo().with_context(active_test=False)
        return {
            channel.id: {
                name: channel[name].ids if channel._fields[name].type == "many2many" else channel[name]
                for name in ADMIN_FIELDS
            }
            for channel in channels
        }

    def _livechat_check_admin_fields(self, before):
        """Only Live Chat administrators change who reads and answers a live chat's sessions:
        its groups, audience, routing mode and capacity (stock lets Live Chat users write live
        chats, for their own fields). Checked on the outcome, so that the web client may send
        values unchanged.

        :param dict before: ``{channel_id: {field: value}}`` before the change
        """
        if self.env.su or self.env.user.has_group("im_livechat.im_livechat_group_manager"):
            return
        after = self._livechat_admin_values()
        for channel in self:
            old = {name: self._livechat_comparable(value) for name, value in before[channel.id].items()}
            new = {name: self._livechat_comparable(value) for name, value in after[channel.id].items()}
            if changed := [name for name in ADMIN_FIELDS if old.get(name) != new[name]]:
                raise AccessError(
                    self.env._(
                        "Only Live Chat administrators may set the groups, audience, routing mode and "
                        "capacity of a live chat (%(fields)s of %(channel)s). Ask one to change them.",
                        fields=", ".join(
                            self._fields[name]._description_string(self.env) for name in changed
                        ),
                        channel=channel.name,
                    )
                )

    @api.model
    def _livechat_comparable(self, value):
        """A field value as :meth:`_livechat_check_admin_fields` compares it."""
        if isinstance(value, list | tuple):
            return sorted(value) or False
        return value or False

    @api.depends("entry_group_ids.member_ids.im_status")
    def _compute_available_operator_ids(self):
        grouped = self.filtered(lambda channel: channel._is_grouped())
        for channel in grouped:
            channel.available_operator_ids = channel._entry_group_ids().member_ids.filtered(
                lambda user: user._is_user_available()
            )
        return super(ImLivechatChannel, self - grouped)._compute_available_operator_ids()

    # ------------------------------------------------------------
    # Stock entry points
    # ------------------------------------------------------------

    def get_livechat_info(self, username=None):
        """A grouped live chat is always open: when nobody can answer, the visitor waits in
        the queue instead of being refused. An internal live chat is never open to website
        visitors: its requesters start sessions from Discuss."""
        info = super().get_livechat_info(username=username)
        if self.audience == "internal":
            info["available"] = False
            info.pop("options", None)
        elif not info["available"] and self._is_grouped():
            info["available"] = True
            info["options"] = dict(
                self._get_channel_infos(), default_username=username or self.env._("Visitor")
            )
        if info.get("available") and (when := self._livechat_closed_until()):
            # outside the business hours of every entry group, the button says when we answer
            info["options"].update(
                button_text=self.env._("We answer from %(when)s", when=when),
                default_message=self.env._(
                    "We are closed right now: we answer again from %(when)s. Leave your question "
                    "here, it waits for us.",
                    when=when,
                ),
            )
        return info

    def _get_livechat_discuss_channel_vals(
        self,
        anonymous_name,
        previous_operator_id=None,
        chatbot_script=None,
        user_id=None,
        country_id=None,
        lang=None,
    ):
        if self.audience == "internal" and not self.env.context.get("livechat_groups_requester"):
            # the website's get_session never opens an internal live chat: see livechat_start_session
            return False
        if chatbot_script or not self._is_grouped():
            vals = super()._get_livechat_discuss_channel_vals(
                anonymous_name,
                previous_operator_id=previous_operator_id,
                chatbot_script=chatbot_script,
                user_id=user_id,
                country_id=country_id,
                lang=lang,
            )
            if vals and chatbot_script and self._is_grouped():
                # the bot talks first; its "forward to an operator" step hands the session to
                # the routing (see chatbot.script.step)
                requester = self.env["res.users"].browse(user_id)
                vals.update(
                    livechat_visitor_name=requester.display_name if requester else anonymous_name,
                    livechat_requester_id=requester.partner_id.id,
                )
            return vals
        requester = self.env["res.users"].browse(user_id)
        decision = self.env["livechat.routing"]._decide(
            self,
            self._entry_group_ids(),
            previous_operator=self.env["livechat.routing"]._previous_operator(
                self,
                requester.partner_id,
                given=self.env["res.partner"].browse(previous_operator_id).user_ids[:1],
            ),
            lang=lang,
            country_id=country_id,
            exclude_users=requester,
        )
        operator, group = decision
        # Stock builds the session around the operator we chose; a waiting session is held
        # by OdooBot, who tells the visitor where they stand, until an operator takes it.
        # (by its cached id: env.ref checks that the record exists, a query at each new session)
        holder = operator or self.env["res.users"].browse(
            self.env["ir.model.data"]._xmlid_to_res_id("base.user_root")
        )
        vals = super(
            ImLivechatChannel, self.with_context(livechat_groups_operator=holder)
        )._get_livechat_discuss_channel_vals(
            anonymous_name,
            previous_operator_id=previous_operator_id,
            user_id=user_id,
            country_id=country_id,
            lang=lang,
        )
        now = fields.Datetime.now()
        visitor = requester.display_name if requester else anonymous_name
        vals.update(
            livechat_visitor_name=visitor,
            livechat_requester_id=requester.partner_id.id,
            livechat_group_id=group.id,
            livechat_routing_state="assigned" if operator else "queued",
            livechat_queued_date=now,
            livechat_assigned_date=now if operator else False,
            livechat_routing_reason_data=decision.reason or False,
            # what the visitor reads is in their language, whoever acts later (see
            # discuss.channel._livechat_visitor_lang): the one their browser asks for now
            livechat_visitor_lang=lang or (request and request.env.lang) or False,
        )
        if not operator:
            vals["name"] = f"{visitor} ({group.name})"
        return vals

    def _get_operator(self, previous_operator_id=None, lang=None, country_id=None):
        if "livechat_groups_operator" in self.env.context:
            return self.env.context["livechat_groups_operator"]
        if not self._is_grouped():
            return super()._get_operator(
                previous_operator_id=previous_operator_id, lang=lang, country_id=country_id
            )
        # A grouped live chat hands a session over through its routing only (the new session's
        # values, chatbot.script.step), never by a bare pick here: stock's bot step reaches this
        # when a visitor restarts a bot in a session already routed, waiting or closed.
        return self.env["res.users"]

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _livechat_is_supervisor(self, user):
        """Whether ``user`` supervises this live chat: a member of its supervisor groups, or a
        Live Chat administrator."""
        self.ensure_one()
        return (
            user.has_group("im_livechat.im_livechat_group_manager")
            or user in self._supervisor_group_ids().member_ids
        )

    def _livechat_closed_until(self, tz=None):
        """When this grouped live chat answers again, in words, if all its entry groups are
        outside their business hours now; else None.

        :param str tz: the visitor's time zone, if known
        """
        if not self._is_grouped():
            return None
        # sudo: livechat.group - visitors may know when the desk opens, not who is in it
        return self.sudo().entry_group_ids._livechat_opening_text(tz=tz)

    def _is_grouped(self):
        """Whether this live chat routes to its groups; without (active) entry groups it
        behaves as stock Odoo."""
        return len(self) == 1 and bool(self._entry_group_ids())

    # An archived group has no role anywhere. The relations are read whatever the caller's
    # context says (an RPC may pass active_test=False), so each role filters its groups here.

    def _entry_group_ids(self):
        """Active entry groups of the live chats of ``self``."""
        return self.with_context(active_test=True).entry_group_ids.with_env(self.env)

    def _supervisor_group_ids(self):
        """Active supervisor groups of the live chats of ``self``."""
        return self.with_context(active_test=True).supervisor_group_ids.with_env(self.env)

    def _operator_group_ids(self):
        """Active groups whose members operate the live chats of ``self``."""
        channels = self.with_context(active_test=True)
        return (channels.entry_group_ids | channels.specialist_group_ids).with_env(self.env)

    def _staff_group_ids(self):
        """Active groups whose members operate or supervise the live chats of ``self``."""
        return self._operator_group_ids() | self._supervisor_group_ids()
