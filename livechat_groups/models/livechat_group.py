from collections import defaultdict
from datetime import timedelta

import pytz

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, format_datetime

# how far ahead the next opening of a desk is looked for (a closed fortnight is a closed desk)
OPENING_HORIZON = timedelta(days=14)


class LivechatGroup(models.Model):
    """A group of users that a live chat uses as entry operators, specialists,
    supervisors or requesters. The group has no role of its own: its role
    comes from where a live chat uses it."""

    _name = "livechat.group"
    _inherit = ["bus.listener.mixin"]
    _description = "Live Chat Group"
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True)
    description = fields.Text(
        translate=True,
        help="What this group handles, shown to operators who forward a session to it.",
    )
    active = fields.Boolean(default=True)
    color = fields.Integer()
    sequence = fields.Integer(
        default=10,
        help="Among the entry groups of a live chat, new requests go to the first group "
        "that has an available member; the next groups take the overflow.",
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        default=lambda self: self.env.company,
        help="Leave empty to share the group between companies.",
    )
    resource_calendar_id = fields.Many2one(
        comodel_name="resource.calendar",
        string="Business Hours",
        help="When the group answers, in the calendar's time zone; its public holidays (time off "
        "without a resource) close it all day. Outside them the routing skips the group and its "
        "sessions wait in the queue. Empty: always open.",
    )

    # members
    user_ids = fields.Many2many(
        comodel_name="res.users",
        relation="livechat_group_res_users_rel",
        column1="group_id",
        column2="user_id",
        string="Members Added by Hand",
        domain=[("share", "=", False)],
        help="Internal users who belong to this group whatever their Odoo user groups.",
    )
    system_group_ids = fields.Many2many(
        comodel_name="res.groups",
        relation="livechat_group_res_groups_rel",
        column1="group_id",
        column2="res_group_id",
        string="Tied User Groups",
        help="Every internal user of these Odoo user groups is a member, "
        "and stays one exactly as long as they belong to them.",
    )
    member_ids = fields.Many2many(
        comodel_name="res.users",
        string="Members",
        compute="_compute_member_ids",
        search="_search_member_ids",
        help="Members added by hand and users of the tied user groups; only active internal users "
        "count, and only while the group is active.",
    )
    member_count = fields.Integer(compute="_compute_member_ids", string="Number of Members")

    # where live chats use the group (inverses of the live chats' fields)
    entry_channel_ids = fields.Many2many(
        comodel_name="im_livechat.channel",
        relation="im_livechat_channel_entry_group_rel",
        column1="group_id",
        column2="channel_id",
        string="Entry Group of",
        readonly=True,
    )
    specialist_channel_ids = fields.Many2many(
        comodel_name="im_livechat.channel",
        relation="im_livechat_channel_specialist_group_rel",
        column1="group_id",
        column2="channel_id",
        string="Specialist Group of",
        readonly=True,
    )
    supervisor_channel_ids = fields.Many2many(
        comodel_name="im_livechat.channel",
        relation="im_livechat_channel_supervisor_group_rel",
        column1="group_id",
        column2="channel_id",
        string="Supervisor Group of",
        readonly=True,
    )
    requester_channel_ids = fields.Many2many(
        comodel_name="im_livechat.channel",
        relation="im_livechat_channel_requester_group_rel",
        column1="group_id",
        column2="channel_id",
        string="Requester Group of",
        readonly=True,
    )
    livechat_channel_ids = fields.Many2many(
        comodel_name="im_livechat.channel",
        string="Live Chats",
        compute="_compute_livechat_channel_ids",
        help="Live chats that use this group, in any role.",
    )

    # ------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------

    @api.depends("user_ids.active", "user_ids.share", "system_group_ids.users")
    def _compute_member_ids(self):
        # One query for all the groups: routing computes the members of every entry group for
        # each new session, and the ORM would read both relations and every user's flags.
        # It reads membership whoever asks, as the tied groups' members may not be readable.
        members_of = defaultdict(list)
        if self.ids:
            rows = self.env.execute_query(
                SQL("SELECT m.group_id, m.user_id FROM %s ORDER BY m.user_id", self._livechat_members_sql())
            )
            for group_id, user_id in rows:
                members_of[group_id].append(user_id)
        for group in self:
            members = (
                members_of[group.id]
                if group.id
                else (group.user_ids | group.system_group_ids.users)
                .filtered(lambda user: user.active and not user.share)
                .ids
            )
            group.member_ids = [Command.set(members)]
            group.member_count = len(members)

    def _livechat_members_sql(self):
        """The members of these groups, as a table ``m (group_id, user_id)`` to select from:
        active internal users, by hand or through their tied user groups (what was written
        before is flushed)."""
        self.env["res.users"].flush_model(["active", "share"])
        self.env["res.groups"].flush_model(["users"])
        self.flush_model(["user_ids", "system_group_ids"])
        return SQL(
            """
            (SELECT m.group_id, u.id AS user_id
               FROM (SELECT group_id, user_id FROM livechat_group_res_users_rel
                      WHERE group_id IN %(ids)s
                      UNION
                     SELECT t.group_id, r.uid FROM livechat_group_res_groups_rel t
                       JOIN res_groups_users_rel r ON r.gid = t.res_group_id
                      WHERE t.group_id IN %(ids)s) m
               JOIN res_users u ON u.id = m.user_id
              WHERE u.active AND NOT u.share) m
            """,
            ids=tuple(self.ids),
        )

    def _livechat_anyone_online(self):
        """Whether a member of these groups is online now (their ``bus.presence``, as the
        routing reads it: see ``livechat_routing_sql``), in one query: reading every member's
        presence cost a tenth of each new visitor's request that waits."""
        if not self.ids:
            return False
        self.env["bus.presence"].flush_model(["user_id", "status"])
        return self.env.execute_query(
            SQL(
                "SELECT EXISTS (SELECT 1 FROM %s JOIN bus_presence b ON b.user_id = m.user_id AND b.status = 'online')",
                self._livechat_members_sql(),
            )
        )[0][0]

    def _search_member_ids(self, operator, value):
        """Translate a condition on members into conditions on the two stored sources
        of membership, so that record rules and domains can use ``member_ids``.

        Accepts user ids (``in``, ``not in``, ``=``, ``!=``), user names (``ilike``,
        ``not ilike``, ``=``, ``!=``) and ``= False`` / ``!= False`` (the groups without / with
        members); a negative operator selects the groups of which no such user is a member.
        """
        negative = operator in expression.NEGATIVE_TERM_OPERATORS
        ids = [value] if isinstance(value, int) else value if isinstance(value, list | tuple) else None
        if value is False and operator in ("=", "!="):
            # "is not set": no member at all; "is set": any member
            user_domain = []
            negative = not negative
        elif isinstance(value, str):
            name_operator = {"ilike": "ilike", "not ilike": "ilike", "=": "=", "!=": "="}.get(operator)
            user_domain = name_operator and [("name", name_operator, value)]
        elif operator in ("in", "not in", "=", "!=") and ids is not None:
            # ids only: anything else would reach PostgreSQL as an integer
            if not all(type(user_id) is int for user_id in ids):
                raise UserError(self.env._("Groups are searched by members with user ids or a user name."))
            user_domain = [("id", "in", list(ids))]
        else:
            user_domain = None
        if user_domain is None or user_domain is False:
            raise UserError(
                self.env._("Groups cannot be searched by members with the operator %s.", operator)
            )
        # sudo: res.users - only active internal users count as members, whoever searches
        users = (
            self.env["res.users"]
            .sudo()
            ._search(expression.AND([user_domain, [("share", "=", False), ("active", "=", True)]]))
        )
        # the groups of which they are members by hand, or through a tied user group: a list
        # that PostgreSQL computes once per statement (an InitPlan), not two conditions joined
        # by OR that it checks again for each row of the record rules that reach the groups
        # (make bench: the supervisors' board over 10,000 open sessions, 330 ms to 150 ms)
        by_hand = self._fields["user_ids"]
        tied = self._fields["system_group_ids"]
        group_ids = SQL(
            """(SELECT unnest(ARRAY(
                SELECT m.%(by_hand_group)s FROM %(by_hand)s m WHERE m.%(by_hand_user)s IN %(users)s
                 UNION ALL
                SELECT t.%(tied_group)s FROM %(tied)s t
                  JOIN res_groups_users_rel u ON u.gid = t.%(tied_res_group)s
                 WHERE u.uid IN %(users)s)))""",
            by_hand=SQL.identifier(by_hand.relation),
            by_hand_group=SQL.identifier(by_hand.column1),
            by_hand_user=SQL.identifier(by_hand.column2),
            tied=SQL.identifier(tied.relation),
            tied_group=SQL.identifier(tied.column1),
            tied_res_group=SQL.identifier(tied.column2),
            users=users.subselect(),
        )
        # an archived group has no role anywhere, so no members that count: record rules reach
        # groups through relations that ignore ``active``
        domain = ["&", ("active", "=", True), ("id", "in", group_ids)]
        return ["!", *domain] if negative else domain

    @api.depends(
        "entry_channel_ids",
        "specialist_channel_ids",
        "supervisor_channel_ids",
        "requester_channel_ids",
    )
    def _compute_livechat_channel_ids(self):
        for group in self:
            group.livechat_channel_ids = (
                group.entry_channel_ids
                | group.specialist_channel_ids
                | group.supervisor_channel_ids
                | group.requester_channel_ids
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        groups = super().create(vals_list)
        groups._grant_livechat_user_group()
        return groups

    def write(self, vals):
        membership = {"user_ids", "system_group_ids", "active"} & vals.keys()
        # sudo: livechat.group, discuss.channel - the groups' members and queues, whoever changes them
        members_before = self.sudo().member_ids if membership else self.env["res.users"]
        # the live chats whose queues may be stranded: the group is archived or leaves them
        roles = {"active", "entry_channel_ids", "specialist_channel_ids"} & vals.keys()
        groups = self.sudo().with_context(active_test=False)
        channels = (groups.entry_channel_ids | groups.specialist_channel_ids) if roles else None
        entry_before = self.sudo().entry_channel_ids if "entry_channel_ids" in vals else None
        res = super().write(vals)
        if entry_before is not None:
            # sudo: livechat.session.report - the figures of every session follow the settings
            self.env["livechat.session.report"].sudo()._livechat_refresh_settings(
                (entry_before | self.sudo().entry_channel_ids).ids
            )
        if membership:
            self._grant_livechat_user_group()
            self.env["livechat.routing"]._release(members_before)
            self._livechat_resubscribe(members_before | self.sudo().member_ids)
        if channels:
            # their queue goes to the entry groups of its live chats
            self.env["livechat.routing"]._move_stranded(channels)
        return res

    @api.model
    def _livechat_resubscribe(self, users):
        """``users`` may have joined or left groups, or the supervision of live chats: their
        web clients subscribe again to the bus channels they now hear (see ``ir.websocket``)."""
        users = users.filtered(lambda user: user.active and not user.share)
        users.partner_id._bus_send("livechat_groups.resubscribe", {})

    @api.ondelete(at_uninstall=False)
    def _unlink_except_sessions(self):
        """A group that took part in sessions is archived, not deleted: its queue would be
        stranded, and its history would leave the figures."""
        # sudo: discuss.channel - counting the group's sessions, whoever deletes it
        counts = dict(
            self.env["discuss.channel"]
            .sudo()
            ._read_group([("livechat_group_id", "in", self.ids)], ["livechat_group_id"], ["__count"])
        )
        if used := self.filtered(lambda group: counts.get(group)):
            raise UserError(
                self.env._(
                    "%(groups)s took part in live chat sessions: archive the group instead of deleting "
                    "it. Its waiting sessions then go to the entry groups of their live chat, and its "
                    "history stays in the figures.",
                    groups=", ".join(used.mapped("name")),
                )
            )

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _get_staff_groups(self):
        """Return the groups of ``self`` that a live chat uses to operate or supervise."""
        return self.filtered(
            lambda group: group.active
            and (group.entry_channel_ids or group.specialist_channel_ids or group.supervisor_channel_ids)
        )

    def _grant_livechat_user_group(self):
        """Give Live Chat / User to the members of operator and supervisor groups, and Live
        Chat / Supervisor to the members of supervisor groups.

        Operators need the first to see their sessions in Discuss as live chats, supervisors
        the second to reach Live Chat > Supervision. Nothing is ever revoked here: the right
        may have been given by hand, and removing it belongs to the user administrator.
        """
        staff = self.sudo()._get_staff_groups()
        supervisors = staff.filtered("supervisor_channel_ids")
        for right, groups in (
            (self.env.ref("im_livechat.im_livechat_group_user"), staff),
            (self.env.ref("livechat_groups.group_livechat_supervisor"), supervisors),
        ):
            # sudo: res.groups - the rights follow from putting users in an operator or
            # supervisor group, which only Live Chat administrators may do.
            if missing := groups.member_ids - right.sudo().users:
                right.sudo().write({"users": [Command.link(user.id) for user in missing]})

    @api.model
    def _grant_livechat_user_group_for_users(self, users):
        """Grant the Live Chat user group to ``users`` who joined a staff group through
        one of its tied user groups."""
        # sudo: livechat.group - looking up the groups of users whose Odoo groups changed
        groups = self.sudo().search(
            expression.AND([[("member_ids", "in", users.ids)], [("active", "=", True)]])
        )
        groups._grant_livechat_user_group()

    # ------------------------------------------------------------
    # Business hours
    # ------------------------------------------------------------

    def _livechat_open_groups(self, at=None):
        """The groups of ``self`` (in their order) that answer at ``at`` (now by default)."""
        at = at or fields.Datetime.now()
        closed = {
            calendar
            for calendar in self.resource_calendar_id
            if not self._livechat_calendar_open(calendar, at)
        }
        return self.filtered(lambda group: group.resource_calendar_id not in closed)

    def _livechat_next_opening(self, at=None):
        """When the first of ``self`` opens again after ``at`` (now by default): ``at`` when one
        is open now, None when none opens within two weeks.

        :return: a naive UTC datetime, or None
        """
        at = at or fields.Datetime.now()
        openings = []
        for group in self:
            calendar = group.resource_calendar_id
            if not calendar:
                return at
            intervals = self._livechat_calendar_intervals(calendar, at, at + OPENING_HORIZON)
            if intervals:
                start = intervals[0][0].astimezone(pytz.utc).replace(tzinfo=None)
                openings.append(max(start, at))
        return min(openings, default=None)

    def _livechat_calendar_open(self, calendar, at):
        return bool(self._livechat_calendar_intervals(calendar, at, at + timedelta(seconds=1)))

    def _livechat_calendar_intervals(self, calendar, start, stop):
        """The working intervals of ``calendar`` between the naive UTC ``start`` and ``stop``,
        public holidays removed, as ``[(start, stop, records)]`` in the calendar's time zone."""
        # sudo: resource.calendar - operators and visitors route through calendars they may not read
        calendar = calendar.sudo()
        intervals = calendar._work_intervals_batch(pytz.utc.localize(start), pytz.utc.localize(stop))[False]
        return list(intervals)

    def _livechat_opening_text(self, tz=None, at=None):
        """When the first of ``self`` opens again, for a person: "Monday 09:00", in the
        language of the context and in ``tz`` (when known, else in the calendar's time zone,
        then named), or None when one of them is open now.

        :param str tz: the reader's time zone, if known
        """
        at = at or fields.Datetime.now()
        if self._livechat_open_groups(at):
            return None
        opening = self._livechat_next_opening(at)
        if not opening:
            return self.env._("in more than two weeks")
        calendar_tz = self.resource_calendar_id[:1].tz or "UTC"
        when = format_datetime(self.env, opening, tz=tz or calendar_tz, dt_format="EEEE HH:mm")
        return when if tz else f"{when} ({calendar_tz})"
