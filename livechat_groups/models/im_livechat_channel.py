import logging
from collections import namedtuple

import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.registry import Registry
from odoo.tools import SQL

from odoo.addons.mail.tools.discuss import Store

from .livechat_routing_sql import CLAIM_OPERATOR, RANK_OPERATORS

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
)


_logger = logging.getLogger(__name__)

# how many of the best candidates a routing decision reads: more than the routings that can run
# at once (workers), so that one of them is free
RANKED = 16
# up to how many memberships the decision reads each member's facts by index lookups rather than
# by hash joins over whole tables (see livechat_routing_sql)
FEW_MEMBERS = 200

Candidate = namedtuple("Candidate", "user_id group eligible load speaks same_country")
Ranking = namedtuple("Ranking", "candidates claimed at_capacity closed")


class RoutingDecision(tuple):
    """What the routing service decided: unpacks as ``(user, group)`` like before, and says
    why in ``reason`` (plain words, for the routing history and the supervision board)."""

    def __new__(cls, user, group, reason=""):
        decision = super().__new__(cls, (user, group))
        decision.reason = reason
        return decision


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
            self.env["discuss.channel"]._livechat_release_sessions_of(operators_before)
            self.env["livechat.group"]._livechat_resubscribe(
                staff_before | self.sudo()._staff_group_ids().member_ids
            )
            # and the queue of that group goes to the entry groups, as when it is archived
            # sudo: discuss.channel - the queues move for everyone who waits in them
            stranded = (
                self.env["discuss.channel"]
                .sudo()
                .search(
                    [
                        ("channel_type", "=", "livechat"),
                        ("livechat_routing_state", "=", "queued"),
                        ("livechat_channel_id", "in", self.ids),
                    ]
                )
                .filtered(lambda s: s.livechat_group_id not in s.livechat_channel_id._operator_group_ids())
            )
            if stranded:
                self.env["livechat.group"]._livechat_move_queue(stranded)
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_open_sessions(self):
        """Deleting a live chat would strand its open sessions: nothing would serve its queues."""
        # sudo: discuss.channel - counting the live chat's open sessions, whoever deletes it
        open_sessions = (
            self.env["discuss.channel"]
            .sudo()
            .search_count(
                [
                    ("livechat_channel_id", "in", self.ids),
                    ("livechat_routing_state", "in", ("queued", "assigned")),
                ]
            )
        )
        if open_sessions:
            raise UserError(
                self.env._(
                    "%(count)s sessions of %(channels)s are waiting or in progress: close them (from "
                    "the supervision board) before deleting the live chat.",
                    count=open_sessions,
                    channels=", ".join(self.mapped("name")),
                )
            )

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
        decision = self._livechat_route_new_session(
            previous_operator_id, lang, country_id, exclude_users=requester
        )
        operator, group = decision
        # Stock builds the session around the operator we chose; a waiting session is held
        # by OdooBot, who tells the visitor where they stand, until an operator takes it.
        holder = operator or self.env.ref("base.user_root")
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
            livechat_routing_reason=decision.reason,
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
    # Internal live chats
    # ------------------------------------------------------------

    @api.model
    def livechat_requester_channels(self):
        """The internal live chats the current user may write to, for Discuss.

        :return: ``[{"id", "name"}]``, in name order
        """
        # sudo: im_livechat.channel - employees may not read the groups that decide it
        channels = self.sudo().search(
            [("audience", "=", "internal"), ("requester_group_ids.member_ids", "in", self.env.uid)],
            order="name, id",
        )
        return [{"id": channel.id, "name": channel.name} for channel in channels]

    def livechat_start_session(self):
        """A requester starts a session of this internal live chat from Discuss, or finds the
        one they already have open; it is routed like a visitor's.

        :return: the session's store data, for Discuss to open it
        """
        self.ensure_one()
        user = self.env.user
        # sudo: im_livechat.channel - employees may not read the groups that decide it
        channel = self.sudo()
        if not channel._livechat_is_requester(user):
            raise AccessError(
                self.env._(
                    "Only the members of the requester groups of an internal live chat may start a "
                    "session with it from Discuss, and %(user)s is not one of %(channel)s.",
                    user=user.name,
                    channel=channel.name,
                )
            )
        # Two calls of one requester at once (a double click) must not open two sessions: both
        # write the requester's settings row first, so the second one conflicts, is retried, and
        # then finds the first one's session.
        # sudo: res.users.settings - the requester's own row, written by the system
        settings = self.env["res.users.settings"].sudo()._find_or_create_for_user(user)
        settings.livechat_last_request_date = fields.Datetime.now()
        settings.flush_recordset()
        # sudo: discuss.channel - the requester may not read their session while it waits
        Session = self.env["discuss.channel"].sudo()
        session = Session.search(
            [
                ("livechat_channel_id", "=", channel.id),
                ("livechat_requester_id", "=", user.partner_id.id),
                ("livechat_active", "=", True),
            ],
            order="id desc",
            limit=1,
        )
        if not session:
            vals = channel.with_context(livechat_groups_requester=True)._get_livechat_discuss_channel_vals(
                user.name, user_id=user.id, country_id=user.country_id.id, lang=user.lang
            )
            if not vals:
                # a live chat without entry groups routes as stock does, and refuses when nobody is online
                raise UserError(
                    self.env._(
                        "Nobody can answer in %(channel)s right now: try again later.", channel=channel.name
                    )
                )
            session = Session.create(vals)  # the routing never picks the requester: they are a member
            session._broadcast(session.livechat_operator_id.ids)
        return Store(self.env["discuss.channel"].browse(session.id)).get_result()

    def _livechat_is_requester(self, user):
        """Whether ``user`` may start a session of this internal live chat."""
        self.ensure_one()
        return self.audience == "internal" and user in self.requester_group_ids.filtered("active").member_ids

    # ------------------------------------------------------------
    # Routing
    # ------------------------------------------------------------

    def init(self):
        res = super().init()
        # the routing decision, planned once per connection (see livechat_routing_sql)
        self.env.cr.execute(CLAIM_OPERATOR)
        self.env.cr.execute(RANK_OPERATORS)
        return res

    def _livechat_route(self, groups, previous_operator=None, lang=None, country_id=None, exclude_users=None):
        """The routing service: choose who gets a session of this live chat among ``groups``.

        Only available members below the live chat's capacity, in a group within its business
        hours, can be chosen. The previous operator comes first when they can be. Otherwise
        groups are tried in their sequence order: the first one with such a member wins, the
        next ones take the overflow; within it, the fewest open sessions, then the visitor's
        language and country, then whoever was given a session longest ago. In manual routing
        mode, nobody is chosen.

        The database ranks the candidates and claims the best one that no concurrent routing is
        handing a session to, in one statement (:meth:`_livechat_rank_operators`), so that a
        burst of visitors spreads over the operators instead of queueing on the same one. The
        hand-over writes the rest.

        :param groups: ``livechat.group`` recordset to route to
        :param previous_operator: ``res.users`` the visitor talked to before, if any
        :param str lang: the visitor's language code
        :param int country_id: the visitor's country
        :param exclude_users: ``res.users`` who must not get the session (e.g. who just left it)
        :return: a :class:`RoutingDecision`, ``(res.users, livechat.group)``: the operator (empty
            when the session must wait) and the group responsible for it (the first group when
            it waits), with the ``reason`` of the choice
        """
        self.ensure_one()
        # in the groups' order, without the query of a bare sorted()
        groups = groups.sorted(lambda group: (group.sequence, group.name or "", group.id))
        Users = self.env["res.users"]
        if not groups:
            return RoutingDecision(Users, groups, self.env._("no group to route to"))
        if self.routing_mode == "manual":
            return RoutingDecision(
                Users,
                groups[:1],
                self.env._("manual routing: waits for a supervisor or an operator to take it"),
            )
        open_groups = groups._livechat_open_groups()
        ranking = self._livechat_rank_operators(
            groups,
            open_groups,
            previous_operator=previous_operator,
            lang=lang,
            country_id=country_id,
            exclude_users=exclude_users,
        )
        context = {"at_capacity": ranking.at_capacity, "closed": ranking.closed}
        candidate = next((c for c in ranking.candidates if c.user_id == ranking.claimed), None)
        if ranking.candidates and not candidate:
            # each of them is being given a session by another routing at this very moment,
            # which this transaction cannot see: rather than wait for them and have the whole
            # request retried, the session waits in line, served once those routings are done
            self._livechat_serve_queue_after_commit(groups)
            reason = self.env._(
                "every available member of %(groups)s was being given a session at that moment: "
                "waits for the next free place",
                groups=", ".join(groups.mapped("name")),
            )
            return RoutingDecision(Users, groups[:1], self._livechat_route_reason(reason, **context))
        if not candidate:
            reason = self.env._(
                "nobody available in %(groups)s: waits in the queue of %(group)s",
                groups=", ".join(groups.mapped("name")),
                group=groups[:1].name,
            )
            return RoutingDecision(Users, groups[:1], self._livechat_route_reason(reason, **context))
        user = Users.browse(candidate.user_id)
        group = candidate.group
        if previous_operator and candidate.user_id == previous_operator.id:
            reason = self.env._("%(user)s talked with this visitor before", user=user.name)
            return RoutingDecision(user, group, self._livechat_route_reason(reason, **context))
        reason = self.env._(
            "least busy of %(count)s available in %(group)s: open sessions %(load)s",
            count=candidate.eligible,
            group=group.name,
            load=candidate.load,
        )
        if candidate.speaks:
            reason += self.env._("; speaks %(lang)s", lang=self.env["res.lang"]._lang_get(lang).name or lang)
        if candidate.same_country:
            reason += self.env._(
                "; from %(country)s", country=self.env["res.country"].browse(country_id).name
            )
        return RoutingDecision(user, group, self._livechat_route_reason(reason, **context))

    def _livechat_rank_operators(
        self, groups, open_groups, previous_operator=None, lang=None, country_id=None, exclude_users=None
    ):
        """Rank who may get a session of this live chat among the members of ``groups``, in
        one query whatever the number of operators and of past sessions: the database function
        ``livechat_groups_rank_operators`` (see ``livechat_routing_sql``). It also puts what the
        session's values read of the chosen operator in the ORM cache
        (:meth:`_livechat_cache_operator`).

        The rules, in the order the statement applies them:

        * members: active internal users of ``groups`` (by hand or through their tied user
          groups), without ``exclude_users``;
        * open: in one of ``open_groups`` (within its business hours); a member counts in the
          first of them they belong to;
        * available: online (their ``bus.presence``), as ``res.users._is_user_available``;
        * capacity: fewer open sessions (across all live chats) than the live chat allows;
        * order: the previous operator, the group's sequence, the fewest open sessions, the
          visitor's language (main or additional), their country, the longest idle;
        * claim: the first of them that no other transaction is routing a session to, locked
          until this transaction ends (``livechat_groups_claim_operator``).

        :return: a :class:`Ranking`: the first :data:`RANKED` candidates in that order, the id
            of the one claimed (None when each of them is being claimed by another routing),
            and how many members were at capacity or outside business hours
        """
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                "SELECT * FROM livechat_groups_rank_operators(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                open_groups.ids,
                (groups - open_groups).ids,
                (exclude_users or self.env["res.users"]).ids,
                lang or "",
                country_id or None,
                self.max_sessions_per_operator or 0,
                previous_operator.id if previous_operator else 0,
                RANKED,
                FEW_MEMBERS,
            )
        )
        eligible, candidates, claimed, at_capacity, closed = {}, [], None, 0, 0
        for kind, position, count, other, user_id, speaks_lang, same_country, *operator in rows:
            if kind == "position":
                eligible[position] = count
                at_capacity += other
            elif kind == "candidate":
                candidates.append((other, user_id, position, count, speaks_lang, same_country, operator))
            elif kind == "claimed":
                claimed = user_id
            else:
                closed = count
        candidates.sort()
        ids = [user_id for _rank, user_id, *_facts in candidates]
        before = ids[: ids.index(claimed)] if claimed else ids
        if missing := [
            user_id
            for _rank, user_id, *_f, (settings_id, *_o) in candidates
            if user_id in before and not settings_id
        ]:
            claimed = self._livechat_claim_without_settings(missing, claimed)
        for _rank, user_id, *_f, operator in candidates:
            if user_id == claimed:
                self._livechat_cache_operator(user_id, *operator)
        return Ranking(
            [
                Candidate(
                    user_id, open_groups[position - 1], eligible[position], load, speaks_lang, same_country
                )
                for _rank, user_id, position, load, speaks_lang, same_country, _operator in candidates
            ],
            claimed,
            at_capacity,
            closed,
        )

    def _livechat_cache_operator(self, user_id, settings_id, partner_id, name, username):
        """Put what the ranking read of the chosen operator in the ORM cache, where stock's
        session values (``_get_livechat_discuss_channel_vals``) and the hand-over look for it:
        their partner and its name, their settings and live chat name. It spares the decision
        four queries; values already in the cache are kept."""
        user = self.env["res.users"].browse(user_id)
        partner = self.env["res.partner"].browse(partner_id)
        values = [(user, "partner_id", partner_id), (partner, "name", name)]
        if settings_id:  # else made by the claim (see _livechat_claim_without_settings)
            settings = self.env["res.users.settings"].browse(settings_id)
            values += [(user, "res_users_settings_ids", settings), (settings, "livechat_username", username)]
        for record, field_name, value in values:
            field = record._fields[field_name]
            self.env.cache.insert_missing(
                record, field, [field.convert_to_cache(value, record, validate=False)]
            )

    def _livechat_claim_without_settings(self, missing, claimed):
        """Claim the first of ``missing``, who rank before ``claimed`` but have no settings row
        to lock yet: their web client makes it at their first visit, so this happens to users
        put online by other means (imports, scripts). Making their row claims them: a routing
        making it at the same time waits for this one, then fails on the unique user, and
        passes over them.

        :return: the id of the user claimed: the first of ``missing`` whose row could be made,
            else ``claimed``
        """
        # sudo: res.users.settings - the routing keeps one row per operator it may choose
        Settings = self.env["res.users.settings"].sudo()
        for user in self.env["res.users"].browse(missing):
            try:
                with self.env.cr.savepoint():
                    Settings._find_or_create_for_user(user)
            except psycopg2.errors.UniqueViolation:
                continue
            return user.id
        return claimed

    def _livechat_serve_queue_after_commit(self, groups):
        """Serve the queues of ``groups`` again once this transaction is committed, in a
        transaction of its own that sees what the concurrent routings gave out (the scheduled
        action *serve the waiting queues* remains the safety net)."""
        if self.env.context.get("livechat_groups_serving_after_commit"):
            return
        pending = self.env.cr.postcommit.data.setdefault("livechat_groups.serve_groups", set())
        if not pending:
            dbname = self.env.cr.dbname

            @self.env.cr.postcommit.add
            def serve_queues():
                group_ids = list(self.env.cr.postcommit.data.pop("livechat_groups.serve_groups", ()))
                try:
                    with Registry(dbname).cursor() as cr:
                        env = api.Environment(
                            cr, SUPERUSER_ID, {"livechat_groups_serving_after_commit": True}
                        )
                        env["livechat.group"].browse(group_ids).exists()._livechat_dispatch_queue()
                except Exception:
                    _logger.warning(
                        "Serving the live chat queues %s after a commit failed", group_ids, exc_info=True
                    )

        pending.update(groups.ids)

    def _livechat_route_reason(self, reason, at_capacity=0, closed=0):
        """``reason`` followed by who could not be chosen, and why."""
        if at_capacity:
            reason += self.env._("; %(count)s at capacity", count=at_capacity)
        if closed:
            reason += self.env._("; %(count)s outside business hours", count=closed)
        return reason

    def _livechat_route_new_session(self, previous_operator_id, lang, country_id, exclude_users=None):
        """Route a new session to the entry groups, with stock's arguments (the previous
        operator comes as a partner id)."""
        previous_operator = self.env["res.partner"].browse(previous_operator_id).user_ids[:1]
        return self._livechat_route(
            self._entry_group_ids(),
            previous_operator=previous_operator,
            lang=lang,
            country_id=country_id,
            exclude_users=exclude_users,
        )

    def _livechat_below_capacity(self, users, stats=None):
        """Return the ``users`` who may get one more session of this live chat.

        :param dict stats: their figures, from :meth:`_livechat_operator_stats`
        """
        capacity = self.max_sessions_per_operator
        if not capacity:
            return users
        if stats is None:
            stats = self._livechat_operator_stats(users)
        return users.filtered(lambda user: stats[user.id][0] < capacity)

    def _livechat_operator_stats(self, users, lang=None):
        """What the routing weighs for each of ``users``, in one query whatever their number:
        the ORM would read partners, settings and their languages by batches of records, and
        count sessions through partners.

        :param str lang: the visitor's language code, if known
        :return: ``{user_id: (open sessions across all live chats, last assignment or None,
            whether they speak ``lang`` (main or additional live chat language), country id)}``
        """
        if not users:
            return {}
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT u.id,
                       (SELECT COUNT(*) FROM discuss_channel c
                         WHERE c.livechat_operator_id = u.partner_id
                           AND c.livechat_routing_state = 'assigned'
                           AND c.channel_type = 'livechat'),
                       s.livechat_last_assigned_date,
                       p.lang = %(lang)s OR EXISTS (
                           SELECT 1 FROM res_lang_res_users_settings_rel r
                             JOIN res_lang l ON l.id = r.res_lang_id
                            WHERE r.res_users_settings_id = s.id AND l.code = %(lang)s),
                       p.country_id
                  FROM res_users u
                  JOIN res_partner p ON p.id = u.partner_id
             LEFT JOIN res_users_settings s ON s.user_id = u.id
                 WHERE u.id IN %(ids)s
                """,
                ids=tuple(users.ids),
                lang=lang or "",
            )
        )
        return {
            user_id: (load, last_assigned, bool(speaks), country)
            for user_id, load, last_assigned, speaks, country in rows
        }

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
