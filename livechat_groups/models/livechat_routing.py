"""The routing service: who answers a session of a grouped live chat, and every change of who
holds it.

Every caller goes through :class:`LivechatRouting` (``session.env["livechat.routing"]``); its
verbs, and who calls them:

* ``_decide``: choose an operator among groups, or the queue to wait in (a website visitor's
  new session, a messenger customer's, an employee's in an internal live chat);
* ``_decide_for``: the same for a session that exists, never to who asked in it (forward,
  chatbot);
* ``_hand_over``: give a session to an operator, or put it in a queue, then record the hop and
  tell those concerned (``_record_hop``, also for a new session) (take, assign, forward);
* ``_route``: ``_decide_for`` then ``_hand_over`` (chatbot, stranded queues);
* ``_requeue``: take a session from its operator: to another member, or back to the queue, at
  its front for the timers (an operator who leaves, the no-answer and away timers);
* ``_move_stranded``: the waiting sessions of a group that lost its role go to the entry groups,
  keeping the time they waited (archiving a group, changing a live chat's groups);
* ``_serve_queues``: give waiting sessions, oldest first, to who can take them now (a place
  freed by a close, a leave or a forward; the scheduled action; after a commit);
* ``_release``: users who may no longer hold their sessions hand them back (archiving a user,
  membership changes);
* ``_end``: a session is over, closed by the routing with a notice or already closed: its queue
  moves, its operator is free (close, inactivity, the visitor or the last operator leaving);
* ``_hand_back_batch``: many sessions handed back or ended as a set, the leaves, the messages,
  the freed places and the moved queues dealt with once at the end (the timers, ``_release``,
  ``_release_requests``);
* ``_in_savepoint``: one session's routing in a savepoint of its own (serving, timers).

The decision itself runs in PostgreSQL (``livechat_routing_sql``), planned once per connection.
"""

import copy
import logging
from collections import namedtuple
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tools import SQL

from odoo.addons.mail.tools.discuss import Store

from .livechat_routing_reason import Reason, lang_ref, ref
from .livechat_routing_sql import CLAIM_OPERATOR, RANK_OPERATORS

_logger = logging.getLogger(__name__)

# how many of the best candidates a routing decision reads: more than the routings that can run
# at once (workers), so that one of them is free
RANKED = 16
# in a batch of hand-backs: each worker's transaction gives out up to a batch of sessions (the
# timers' COMMIT_BATCH, 40) to operators it holds claimed until it commits, so more candidates are
# read for one of them to be free: enough for five workers handing back at once. A decision
# outside a batch that finds its RANKED best all claimed (a shift change is under way) reads as many
RANKED_IN_BATCH = 200
# up to how many memberships the decision reads each member's facts by index lookups rather than
# by hash joins over whole tables (see livechat_routing_sql)
FEW_MEMBERS = 200
# how long a customer's last operator comes first when they write again, on any channel of the
# live chat: as long as stock's website widget remembers the visitor's previous operator
PREVIOUS_OPERATOR_DAYS = 7
# the post-commit data key of the groups whose queues are served once the transaction commits
SERVE_AFTER_COMMIT = "livechat_groups.serve_groups"

# the context key of a batch of hand-backs (see LivechatRouting._hand_back_batch)
HAND_BACK_BATCH = "livechat_groups_hand_back_batch"

Candidate = namedtuple("Candidate", "user_id group eligible load speaks same_country")
Ranking = namedtuple("Ranking", "candidates claimed at_capacity closed")


class RoutingDecision(tuple):
    """What the routing decided: unpacks as ``(user, group)``, and says why in ``reason`` (a
    :class:`~.livechat_routing_reason.Reason`, for the routing history and the supervision
    board, read in each reader's language)."""

    def __new__(cls, user, group, reason=None):
        decision = super().__new__(cls, (user, group))
        decision.reason = reason or Reason()
        return decision


class HandBackBatch:
    """What a batch of hand-backs leaves for its end: the operators who freed a place, who
    must not get each session back (``{session id: user ids}``), the groups whose queue moved
    (ids), who joins and who leaves which session (``[(discuss.channel, res.users)]``), the
    messages to post (see ``discuss_channel_batch``). Compared by identity, so that it may
    travel in a context."""

    def __init__(self):
        self.freed, self.exclude, self.groups = set(), {}, set()
        self.joining, self.leaving, self.posts = [], [], []
        # at its end, what the sessions left is done: nothing more is left for it
        self.ending = False

    def mark(self):
        """What is left for the end now, for :meth:`undo`."""
        return list(self.joining), list(self.leaving), list(self.posts)

    def undo(self, mark):
        """Leave for the end what was left at ``mark``: a session whose hand-back failed takes
        back what it left, and what it posted of the others' was rolled back with it."""
        self.joining[:], self.leaving[:], self.posts[:] = mark


class LivechatRouting(models.AbstractModel):
    """The one routing service of grouped live chats: see the module's docstring for its verbs
    and who calls them. It keeps no state: every decision locks its rows in PostgreSQL, so
    any number of workers and servers route at once.

    It checks no right: the callers decide who may act, then call it from the environment of
    the session as the system acts on it (``session.env["livechat.routing"]``, the session
    taken with ``sudo()`` after their checks)."""

    _name = "livechat.routing"
    _description = "Live Chat Routing"

    def init(self):
        res = super().init()
        # the routing decision, planned once per connection (see livechat_routing_sql)
        self.env.cr.execute(CLAIM_OPERATOR)
        self.env.cr.execute(RANK_OPERATORS)
        return res

    # ------------------------------------------------------------
    # Deciding
    # ------------------------------------------------------------

    @api.model
    def _decide(
        self, channel, groups, previous_operator=None, lang=None, country_id=None, exclude_users=None
    ):
        """Choose who gets a session of the live chat ``channel`` among ``groups``.

        Only available members below the live chat's capacity, in a group within its business
        hours, can be chosen. The previous operator comes first when they can be. Otherwise
        groups are tried in their sequence order: the first one with such a member wins, the
        next ones take the overflow; within it, the fewest open sessions, then the visitor's
        language and country, then whoever was given a session longest ago. In manual routing
        mode, nobody is chosen.

        The database ranks the candidates and claims the best one that no concurrent routing is
        handing a session to, in one statement (:meth:`_rank_operators`), so that a burst of
        visitors spreads over the operators instead of queueing on the same one. The hand-over
        writes the rest.

        :param channel: ``im_livechat.channel``
        :param groups: ``livechat.group`` recordset to route to
        :param previous_operator: ``res.users`` the visitor talked to before, if any
        :param str lang: the visitor's language code
        :param int country_id: the visitor's country
        :param exclude_users: ``res.users`` who must not get the session (e.g. who just left it)
        :return: a :class:`RoutingDecision`, ``(res.users, livechat.group)``: the operator (empty
            when the session must wait) and the group responsible for it (the first group when
            it waits), with the ``reason`` of the choice
        """
        channel.ensure_one()
        # in the groups' order, without the query of a bare sorted()
        groups = groups.sorted(lambda group: (group.sequence, group.name or "", group.id))
        Users = self.env["res.users"]
        if not groups:
            return RoutingDecision(Users, groups, Reason.of("no_group"))
        if channel.routing_mode == "manual":
            return RoutingDecision(Users, groups[:1], Reason.of("manual"))
        open_groups = groups._livechat_open_groups()
        ranking = self._rank_operators(
            channel,
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
            self._serve_after_commit(groups)
            reason = Reason.of("being_claimed", groups=ref(groups))
            return RoutingDecision(Users, groups[:1], self._reason(reason, **context))
        if not candidate:
            reason = Reason.of("nobody", groups=ref(groups), group=ref(groups[:1]))
            return RoutingDecision(Users, groups[:1], self._reason(reason, **context))
        user = Users.browse(candidate.user_id)
        group = candidate.group
        if previous_operator and candidate.user_id == previous_operator.id:
            reason = Reason.of("previous", user=user.name)
            return RoutingDecision(user, group, self._reason(reason, **context))
        reason = Reason.of("least_busy", count=candidate.eligible, group=ref(group), load=candidate.load)
        if candidate.speaks:
            reason += Reason.of("speaks", lang=lang_ref(lang))
        if candidate.same_country:
            reason += Reason.of("country", country=ref(self.env["res.country"].browse(country_id)))
        return RoutingDecision(user, group, self._reason(reason, **context))

    @api.model
    def _decide_for(self, session, groups=None, exclude_users=None):
        """:meth:`_decide` for a session that exists, so that who asked in it never answers it.

        :param groups: ``livechat.group`` to route to (default: :meth:`_session_groups`)
        :param exclude_users: ``res.users`` who must not get it (e.g. who just left it)
        """
        session.ensure_one()
        # whoever the session is for never answers it (an employee who asked, a customer since hired)
        # sudo: res.users - the customer's users, whoever routes
        customers = session._livechat_customer_partners().sudo().with_context(active_test=False).user_ids
        exclude = (exclude_users or self.env["res.users"]) | customers.with_env(self.env)
        return self._decide(
            session.livechat_channel_id,
            self._session_groups(session) if groups is None else groups,
            exclude_users=exclude,
            country_id=session.country_id.id,
        )

    @api.model
    def _previous_operator(self, channel, customers, given=None):
        """Who comes first for a new session of ``channel``: the operator the customer talked
        to last, on any of its channels (website, WhatsApp, Telegram), within
        :data:`PREVIOUS_OPERATOR_DAYS`; else ``given`` (the website widget's memory, or the
        last operator of the same messenger conversation).

        :param customers: ``res.partner`` the new session is for (empty for an anonymous visitor)
        :param given: ``res.users`` the caller knows of, if any
        :return: ``res.users`` (maybe empty)
        """
        Users = self.env["res.users"]
        if customers:
            since = fields.Datetime.now() - timedelta(days=PREVIOUS_OPERATOR_DAYS)
            # sudo: discuss.channel - the routing reads the customer's earlier sessions, whoever asks
            last = (
                self.env["discuss.channel"]
                .sudo()
                .search(
                    [
                        ("channel_type", "=", "livechat"),
                        ("livechat_channel_id", "=", channel.id),
                        ("livechat_operator_user_id", "!=", False),
                        ("create_date", ">=", since),
                        "|",
                        ("livechat_requester_id", "in", customers.ids),
                        ("livechat_messenger_partner_id", "in", customers.ids),
                    ],
                    order="create_date desc, id desc",
                    limit=1,
                )
            )
            if last:
                return last.livechat_operator_user_id.with_env(self.env)
        return given or Users

    @api.model
    def _session_groups(self, session):
        """The groups that may answer ``session``: every entry group of its live chat while it
        waits for a general operator, else the group it was forwarded to (back to the entry
        groups when that group was archived or left the live chat)."""
        channel = session.livechat_channel_id
        entry_groups = channel._entry_group_ids()
        if session.livechat_group_id in channel._operator_group_ids() - entry_groups:
            return session.livechat_group_id
        return entry_groups

    @api.model
    def _rank_operators(
        self,
        channel,
        groups,
        open_groups,
        previous_operator=None,
        lang=None,
        country_id=None,
        exclude_users=None,
    ):
        """Rank who may get a session of ``channel`` among the members of ``groups``, in one
        query whatever the number of operators and of past sessions: the database function
        ``livechat_groups_rank_operators`` (see ``livechat_routing_sql``). It also puts what the
        session's values read of the chosen operator in the ORM cache (:meth:`_cache_operator`).

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
        first = RANKED if self.env.context.get(HAND_BACK_BATCH) is None else RANKED_IN_BATCH
        # when every one of the first is being given a session by another transaction (a batch
        # of hand-backs holds those it gave until it commits), the next ones are read, once
        for ranked in dict.fromkeys((first, RANKED_IN_BATCH)):
            rows = self.env.execute_query(
                SQL(
                    "SELECT * FROM livechat_groups_rank_operators(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    open_groups.ids,
                    (groups - open_groups).ids,
                    (exclude_users or self.env["res.users"]).ids,
                    lang or "",
                    country_id or None,
                    channel.max_sessions_per_operator or 0,
                    previous_operator.id if previous_operator else 0,
                    ranked,
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
            if claimed or len(candidates) < ranked:
                break
        candidates.sort()
        ids = [user_id for _rank, user_id, *_facts in candidates]
        before = ids[: ids.index(claimed)] if claimed else ids
        if missing := [
            user_id
            for _rank, user_id, *_f, (settings_id, *_o) in candidates
            if user_id in before and not settings_id
        ]:
            claimed = self._claim_without_settings(missing, claimed)
        for _rank, user_id, *_f, operator in candidates:
            if user_id == claimed:
                self._cache_operator(user_id, *operator)
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

    @api.model
    def _cache_operator(self, user_id, settings_id, partner_id, name, username):
        """Put what the ranking read of the chosen operator in the ORM cache, where stock's
        session values (``_get_livechat_discuss_channel_vals``) and the hand-over look for it:
        their partner and its name, their settings and live chat name. It spares the decision
        four queries; values already in the cache are kept."""
        user = self.env["res.users"].browse(user_id)
        partner = self.env["res.partner"].browse(partner_id)
        values = [(user, "partner_id", partner_id), (partner, "name", name)]
        if settings_id:  # else made by the claim (see _claim_without_settings)
            settings = self.env["res.users.settings"].browse(settings_id)
            values += [(user, "res_users_settings_ids", settings), (settings, "livechat_username", username)]
        for record, field_name, value in values:
            field = record._fields[field_name]
            self.env.cache.insert_missing(
                record, field, [field.convert_to_cache(value, record, validate=False)]
            )

    @api.model
    def _claim_without_settings(self, missing, claimed):
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

    @api.model
    def _reason(self, reason, at_capacity=0, closed=0):
        """``reason`` followed by who could not be chosen, and why.

        :param reason: a :class:`~.livechat_routing_reason.Reason`
        """
        if at_capacity:
            reason += Reason.of("at_capacity", count=at_capacity)
        if closed:
            reason += Reason.of("closed", count=closed)
        return reason

    @api.model
    def _below_capacity(self, channel, users, stats=None):
        """The ``users`` who may get one more session of the live chat ``channel``.

        :param dict stats: their figures, from :meth:`_operator_stats`
        """
        capacity = channel.max_sessions_per_operator
        if not capacity:
            return users
        if stats is None:
            stats = self._operator_stats(users)
        return users.filtered(lambda user: stats[user.id][0] < capacity)

    @api.model
    def _operator_stats(self, users, lang=None):
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
    # Handing over
    # ------------------------------------------------------------

    @api.model
    def _hand_over(
        self, session, kind, group, user, note=None, reason=None, queued_date=None, joined_note=True
    ):
        """Give ``session`` to ``user``, a member of ``group``, or put it in ``group``'s queue
        when ``user`` is empty; then record the hop and tell those concerned.

        :param str kind: the ``livechat.session.transfer`` kind of this hop
        :param reason: why the routing chose ``user`` (a ``Reason``, see :meth:`_decide`), if it chose
        :param datetime queued_date: its place in the queue when it waits (by default, now: the end)
        :param bool joined_note: whether the staff's note says that ``user`` joined (not when
            the note of who leaves says it, see :meth:`_requeue`)
        """
        session.ensure_one()
        if user and user.partner_id in session._livechat_customer_partners():
            raise UserError(
                self.env._("%(user)s asked in this session: they cannot also answer it.", user=user.name)
            )
        from_group, from_user = session.livechat_group_id, session._livechat_operator_user()
        left_queue = session.livechat_routing_state == "queued" and from_group
        now = fields.Datetime.now()
        joined = bool(user) and user.partner_id not in session.channel_member_ids.partner_id
        if user:
            if joined:
                self._join(session, user, joined_note)
            session.write(
                {
                    "livechat_group_id": group.id,
                    "livechat_routing_state": "assigned",
                    "livechat_operator_id": user.partner_id.id,
                    "livechat_assigned_date": now,
                    "livechat_routing_reason_data": reason or False,
                    "name": f"{session.livechat_visitor_name} {user.livechat_username or user.name}",
                }
            )
        else:
            session.write(
                {
                    "livechat_group_id": group.id,
                    "livechat_routing_state": "queued",
                    "livechat_operator_id": session._livechat_odoobot().id,
                    "livechat_queued_date": queued_date or now,
                    "livechat_routing_reason_data": reason or False,
                    "name": f"{session.livechat_visitor_name} ({group.name})",
                }
            )
        self._record_hop(session, kind, from_group, from_user, note=note, joined=joined)
        if left_queue and not self.env.context.get("livechat_groups_defer_queue_notices"):
            session._livechat_refresh_queue_notices(from_group)

    @api.model
    def _join(self, session, user, note=True):
        """``user`` joins ``session``, which the routing gives them: added as themselves, not
        "invited" by whoever handed it over. They are told of their new session in their own
        words (see :meth:`_record_hop`), and their Discuss loads it (stock's
        ``discuss.channel/joined``). In a batch of hand-backs (:meth:`_hand_back_batch`), they
        join at its end, all at once, before its messages are posted
        (``discuss.channel._livechat_join_batch``).

        :param bool note: whether the staff's note says that they joined
        """
        batch = self.env.context.get(HAND_BACK_BATCH)
        if batch is None or batch.ending:
            session.with_user(user).sudo()._add_members(
                users=user, open_chat_window=True, post_joined_message=note
            )
            return
        batch.joining.append((session, user))
        if note:
            # the note that its operator posts when they join (see discuss_channel_display)
            self._in_batch(session)._livechat_post_in_batch(
                session._livechat_joined_note(user.partner_id), user.partner_id, "mail.mt_note", "comment"
            )

    @api.model
    def _record_hop(self, session, kind, from_group, from_user, note=None, notify=True, joined=False):
        """Record the hop that just happened to ``session`` and tell those concerned: its
        clocks start, the visitor reads where they stand, the operator's Discuss opens it.

        :param bool notify: whether to tell the members now (not for a session being created:
            stock's ``get_session`` tells its operator)
        :param bool joined: its operator just joined it: their Discuss loads the session when
            told so (stock's ``discuss.channel/joined``), it is not sent to them again

        A session created for a message that follows in the same transaction (a messenger
        customer's, context ``livechat_groups_first_message_follows``) tells its customer where
        they stand after that message (``_livechat_post_first_notices``), not above it.
        """
        user = session._livechat_operator_user()
        starting = not notify
        later = starting and self.env.context.get("livechat_groups_first_message_follows")
        self.env["livechat.timers"]._livechat_start_answer_clock(session)
        self.env["livechat.session.transfer"].create(
            {
                "session_id": session.id,
                "kind": kind,
                "from_group_id": from_group.id,
                "to_group_id": session.livechat_group_id.id,
                "from_user_id": from_user.id,
                "to_user_id": user.id,
                "note": note,
                "reason_data": session.livechat_routing_reason_data,
            }
        )
        odoobot = session._livechat_odoobot()
        placeholder = session.channel_member_ids.filtered(lambda m: m.partner_id == odoobot)
        if not user:
            if not later:
                session._livechat_post_waiting_notices(starting=starting)
            # its group's members hear of it (discuss_channel_waiting)
            session._livechat_tell_waiting()
            if odoobot not in session.channel_member_ids.partner_id:
                # back in a queue (a forward, a requeue): OdooBot holds the session again, as a
                # member, so that the visitor's widget may read who holds it
                # sudo: discuss.channel.member - the routing adds its placeholder
                self.env["discuss.channel.member"].sudo().create(
                    {"channel_id": session.id, "partner_id": odoobot.id}
                )
        else:
            self._mark_served(user, session.livechat_assigned_date)
            if notify:
                # the placeholder that held the waiting session leaves it, in every member's
                # window too (the employee's chat showed OdooBot's picture)
                placeholder.unlink()
                if not joined:
                    session._broadcast(user.partner_id.ids)
            session._livechat_notice_operator_answers(user)
            if notify and kind != "take":
                # who took it opened it themselves
                session._livechat_tell_new_operator(user)
        if notify:
            # every member's header follows the hand-over: the visitor's names the new operator,
            # with their picture, or the group while they wait, with OdooBot's (a forward to a
            # group left the previous operator's picture in the visitor's header)
            values = {
                **session._livechat_display_values(),
                "name": session.name,
                "operator": Store.one(
                    session.livechat_operator_id, fields=["avatar_128", "user_livechat_username"]
                ),
            }
            if user and placeholder:
                # with the count: the new operator's window counted OdooBot when they joined
                values["channelMembers"] = Store.many(placeholder, "DELETE", only_id=True)
                values["memberCount"] = session.member_count
            session._bus_send_store(session, values)

    @api.model
    def _mark_served(self, user, when):
        """Record when ``user`` was last given a session (the ranking's "longest idle").

        Writing the operator's settings row makes two transactions that give them a session at
        once conflict: the second one is retried and then sees the first one's session. The row
        exists for any user the routing picks: they are online, and their web client created it.
        Flushed at once so that the conflict comes before ``get_session`` creates the visitor's
        guest: Odoo's retry rolls the guest back but keeps it in the request's context.
        """
        # sudo: res.users.settings - the routing records when it last served this operator
        settings = self.env["res.users.settings"].sudo()._find_or_create_for_user(user)
        settings.livechat_last_assigned_date = when
        settings.flush_recordset()

    @api.model
    def _route(self, session, kind="route", groups=None, exclude_users=None, queued_date=None):
        """Decide who gets ``session`` (:meth:`_decide_for`) and hand it over.

        :param datetime queued_date: its place in the queue if it waits (see :meth:`_hand_over`)
        :return: the :class:`RoutingDecision`
        """
        decision = self._decide_for(session, groups=groups, exclude_users=exclude_users)
        user, group = decision
        self._hand_over(session, kind, group, user, reason=decision.reason, queued_date=queued_date)
        return decision

    # ------------------------------------------------------------
    # Taking a session back
    # ------------------------------------------------------------

    @api.model
    def _requeue(self, session, operator, why=None, kind="requeue", front=False):
        """``operator`` no longer holds the open ``session`` (they left, went away, did not
        answer, were archived or are no longer an operator of its live chat): it goes to
        another member of its group, or back to its queue; never back to them.

        :param why: what made them let it go (a ``Reason``), before the routing's own reason in the hop
        :param str kind: the hop's kind (``timeout`` when they did not answer in time)
        :param bool front: back at the front of the queue, since it waited already (timers)
        """
        session.ensure_one()
        decision = self._decide_for(session, exclude_users=operator)
        user, group = decision
        reason = Reason.load(why).then(decision.reason)
        first = None
        if front and not user:
            # at the front, before the notice tells the visitor their place
            oldest = session.search(
                [
                    ("livechat_routing_state", "=", "queued"),
                    ("livechat_group_id", "=", group.id),
                    ("id", "!=", session.id),
                ],
                order="livechat_queued_date, id",
                limit=1,
            ).livechat_queued_date
            first = min(session.create_date, oldest - timedelta(seconds=1)) if oldest else session.create_date
        # they leave the conversation (when they did not leave it themselves): one note for the
        # staff says it and who answers now
        stays = operator.partner_id in session.channel_member_ids.partner_id
        self._hand_over(session, kind, group, user, reason=reason, queued_date=first, joined_note=not stays)
        # the freed place goes to another waiting session, not back to this one; the queue it
        # came back to at the front moved
        self._after_hand_back(operator, session, group if front and not user else None)
        if stays:
            self._leave(session, operator)

    @api.model
    def _leave(self, session, operator):
        """``operator`` leaves ``session``, which the routing took from them: one note for the
        staff says it and who answers now. In a batch of hand-backs (:meth:`_hand_back_batch`),
        the note is posted with the batch's messages and they leave after them, at its end, all
        at once (``discuss.channel._livechat_leave_batch``): removing a member empties the ORM's
        whole cache (stock's ``unlink``), which every next session of the batch would read
        again, and costs a dozen queries each time; and a message posted after someone left
        would show the conversation again in their Discuss (stock's ``_action_unfollow`` posts
        its own before the leave for that reason)."""
        batch = self.env.context.get(HAND_BACK_BATCH)
        if batch is not None and not batch.ending:
            # their membership is locked now, in the session's own savepoint: a change their
            # Discuss made to it meanwhile (a message read) skips this session, as it would
            # have, and its removal at the batch's end cannot conflict
            self.env.execute_query(
                SQL(
                    "SELECT id FROM discuss_channel_member WHERE channel_id = %s AND partner_id = %s FOR UPDATE",
                    session.id,
                    operator.partner_id.id,
                )
            )
            batch.leaving.append((session, operator))
            self._in_batch(session)._livechat_post_in_batch(
                lambda session: session._livechat_handed_over_note(), operator.partner_id, "mail.mt_note"
            )
            return
        session.with_context(livechat_groups_handed_to=True)._action_unfollow(partner=operator.partner_id)

    @api.model
    def _move_stranded(self, channels):
        """The sessions of ``channels`` that wait in a group that lost its role (archived, or no
        longer an operator group of the live chat) go to the entry groups of their live chat
        (an operator, or the first entry group's queue), first in line as they were. A live
        chat left without an entry group cannot take them: the change is refused."""
        # sudo: discuss.channel - the queues move for everyone who waits in them, whoever
        # changed the groups
        stranded = (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_routing_state", "=", "queued"),
                    ("livechat_channel_id", "in", channels.ids),
                ],
                order="livechat_queued_date, id",
            )
            .filtered(lambda s: s.livechat_group_id not in s.livechat_channel_id._operator_group_ids())
        )
        Routing = stranded.env["livechat.routing"]
        for session in stranded:
            channel = session.livechat_channel_id
            if not channel._entry_group_ids():
                raise UserError(
                    self.env._(
                        "%(group)s is the last entry group of %(channel)s, where sessions are waiting: "
                        "give the live chat another entry group first.",
                        group=session.livechat_group_id.name,
                        channel=channel.name,
                    )
                )
            # the time already waited counts in the new queue
            Routing._route(session, kind="requeue", queued_date=session.livechat_queued_date)
        if stranded:
            stranded._livechat_refresh_queue_notices(stranded.livechat_group_id)

    @api.model
    def _release(self, users, deleted=False):
        """Hand back the open sessions that ``users`` hold where they no longer may: once
        archived, or no longer a member of an operator group of the session's live chat. They
        leave the conversation, and the session goes back to the routing (never to them).

        :param bool deleted: ``users`` are being deleted: every session they hold goes back
        """
        if not users:
            return
        # sudo: discuss.channel - the routing acts for the system, whoever changed the users
        held = (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_routing_state", "=", "assigned"),
                    ("livechat_operator_user_id", "in", users.ids),
                ]
            )
        )
        with self._hand_back_batch() as routing:
            for session in routing._in_batch(held):
                operator = session.livechat_operator_user_id
                if (
                    not deleted
                    and operator.active
                    and operator in session.livechat_channel_id._operator_group_ids().member_ids
                ):
                    continue
                # leaving requeues the session (see discuss_channel_routing)
                session._action_unfollow(partner=operator.partner_id)
            routing._release_requests(users if deleted else users.filtered(lambda user: not user.active))

    @api.model
    def _release_requests(self, users):
        """End the open sessions of an internal live chat that ``users`` (archived or being
        deleted) asked: nobody would read the answer, and their place in the queue or in an
        operator's capacity goes to the next one."""
        if not users:
            return
        # sudo: discuss.channel - the routing acts for the system, whoever changed the users
        asked = (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_routing_state", "in", ("queued", "assigned")),
                    ("livechat_requester_id", "in", users.partner_id.ids),
                ]
            )
        )
        with self._hand_back_batch() as routing:
            for session in routing._in_batch(asked):
                routing._end(
                    session,
                    session._livechat_operator_user(),
                    notice=session._livechat_visitor_env()._(
                        "%(requester)s is no longer a user of this database: the session is closed.",
                        requester=session.livechat_requester_id.name,
                    ),
                )

    @api.model
    def _end(self, session, operator, notice=None):
        """``session`` is over: it leaves the board's open columns, its queue moves up, and its
        operator can take the next waiting session.

        :param str notice: when the routing closes the session (a supervisor, the inactivity
            timer), what the visitor reads of it; the conversation closes for them too. Without
            it, the session was already closed (the visitor left, or its last operator did)
        """
        if notice:
            session._livechat_post_notice(notice)
            # sudo: discuss.channel - the routing closes the conversation, whoever ended it
            session.sudo().livechat_active = False
        left_queue = session.livechat_group_id if session.livechat_routing_state == "queued" else None
        # sudo: discuss.channel - the end of a session ends its routing, whoever ended it
        session.sudo().livechat_routing_state = "closed"
        # a messenger customer is asked to rate it, once (discuss_channel_rating.py)
        session._livechat_rating_ask()
        self._after_hand_back(operator, groups=left_queue)

    @api.model
    def _after_hand_back(self, operator, session=None, groups=None):
        """What follows a session handed back or ended: the place ``operator`` freed goes to
        the next waiting session (never back to ``session``), and the visitors waiting in
        ``groups`` read their new place. In a batch of hand-backs (:meth:`_hand_back_batch`),
        done once at its end for all of them.

        :param operator: ``res.users`` who freed a place (may be empty)
        :param session: ``discuss.channel`` just handed back, not to be served now
        :param groups: ``livechat.group`` whose queue moved, if any
        """
        batch = self.env.context.get(HAND_BACK_BATCH)
        if batch is not None:
            batch.freed.update(operator.ids)
            if session:
                batch.exclude.setdefault(session.id, set()).update(operator.ids)
            batch.groups.update(groups.ids if groups else ())
            return
        if groups:
            self.env["discuss.channel"]._livechat_refresh_queue_notices(groups)
        self._serve_queues(freed_by=operator, skip=session)

    @api.model
    @contextmanager
    def _hand_back_batch(self):
        """Hand back many sessions as a set (the timers, a user archived): within the block,
        the routing given (``with ... as routing``; sessions join it by ``routing._in_batch``) defers what each
        hand-back leaves to do for the others (:meth:`_after_hand_back`, :meth:`_leave`, the messages
        posted ``batched``: see ``discuss_channel_batch``): at its end, the visitors' notices and
        the staff's notes are written at once, each queue that moved sends its visitors their
        place once, the freed places serve the queues once, and the operators whom the routing
        took sessions from leave them. Nested blocks belong to the outermost one."""
        if self.env.context.get(HAND_BACK_BATCH) is not None:
            yield self
            return
        batch = HandBackBatch()
        routing = self.with_context(**{HAND_BACK_BATCH: batch})
        yield routing
        batch.ending = True
        # (a session whose hand-back was undone left nothing here: see _in_savepoint)
        Session = self.env["discuss.channel"]
        # first: who is given a session is a member when its messages are posted
        Session._livechat_join_batch(batch.joining)
        posts, batch.posts = batch.posts, []
        Session._livechat_post_batch(posts)
        Users, Group = self.env["res.users"], self.env["livechat.group"]
        if batch.groups:
            Session._livechat_refresh_queue_notices(Group.browse(batch.groups))
        if batch.freed:
            # a waiting session that another worker serves at the same time is theirs: the
            # batch's own work is kept
            self._serve_queues(
                freed_by=Users.browse(sorted(batch.freed)), exclude=batch.exclude, skip_conflicts=True
            )
        # last: nothing is posted after them in the sessions they leave
        Session._livechat_leave_batch(batch.leaving)

    @api.model
    def _in_batch(self, records):
        """``records`` in this routing's batch of hand-backs (see :meth:`_hand_back_batch`)."""
        return records.with_context(**{HAND_BACK_BATCH: self.env.context.get(HAND_BACK_BATCH)})

    # ------------------------------------------------------------
    # Serving the queues
    # ------------------------------------------------------------

    @api.model
    def _serve_queues(self, groups=None, freed_by=None, skip=None, exclude=None, skip_conflicts=False):
        """Give the waiting sessions of ``groups`` (or of the groups of the operators who just
        ``freed_by`` a place), oldest first, to members who can take them now. Live chats in
        manual routing mode keep their queue for supervisors. A session that cannot be served
        is left waiting and never stops the others.

        :param freed_by: ``res.users`` who just freed some capacity
        :param skip: ``discuss.channel`` sessions not to serve now (one its operator just left)
        :param dict exclude: ``{session id: user ids}`` who must not get these sessions (who just
            handed them back)
        :param bool skip_conflicts: a waiting session that another worker changed meanwhile is
            theirs, and skipped (see :meth:`_in_savepoint`)
        """
        Group = self.env["livechat.group"]
        if freed_by is not None:
            if not freed_by:
                return
            # sudo: livechat.group - finding the groups of the operator who freed capacity
            groups = Group.sudo().search([("member_ids", "in", freed_by.ids)])
        if not groups:
            return
        # sudo: discuss.channel - the dispatcher acts for the system, whoever triggered it
        sessions = (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_routing_state", "=", "queued"),
                    ("livechat_group_id", "in", groups.ids),
                    ("livechat_channel_id.routing_mode", "=", "auto"),
                ],
                order="livechat_queued_date, id",
            )
        )
        sessions -= skip or sessions.browse()
        full = Group.browse()  # groups whose members can take no more now
        # the notices of those still waiting are rewritten once, at the end
        routing = sessions.env["livechat.routing"].with_context(livechat_groups_defer_queue_notices=True)
        served = False
        for session in sessions.with_env(routing.env):
            session_groups = routing._session_groups(session)
            if not session_groups - full:
                continue
            excluded = session.env["res.users"].browse(sorted((exclude or {}).get(session.id, ())))
            outcome = routing._in_savepoint(
                session, routing._serve, session_groups, excluded, skip_conflicts=skip_conflicts
            )
            served |= bool(outcome)
            if outcome is False and not session._livechat_requester_user() and not excluded:
                # nobody could take it; a requester's own session, or one kept from who just
                # handed it back, says nothing about the others
                full |= session_groups
        if served:
            sessions._livechat_refresh_queue_notices(groups)

    @api.model
    def _serve(self, session, groups, exclude_users=None):
        """Give the waiting ``session`` to a member of ``groups`` who can take it now (never to
        ``exclude_users``).

        :return: whether an operator got it
        """
        decision = self._decide_for(session, groups, exclude_users=exclude_users)
        user, group = decision
        if user:
            self._hand_over(session, "route", group, user, reason=decision.reason)
        return bool(user)

    @api.model
    def _serve_after_commit(self, groups):
        """Serve the queues of ``groups`` again once this transaction is committed, in a
        transaction of its own that sees what the concurrent routings gave out (the scheduled
        action *serve the waiting queues* remains the safety net)."""
        if self.env.context.get("livechat_groups_serving_after_commit"):
            return
        pending = self.env.cr.postcommit.data.setdefault(SERVE_AFTER_COMMIT, set())
        if not pending:
            dbname = self.env.cr.dbname

            @self.env.cr.postcommit.add
            def serve_queues():
                group_ids = list(self.env.cr.postcommit.data.pop(SERVE_AFTER_COMMIT, ()))
                try:
                    with Registry(dbname).cursor() as cr:
                        env = api.Environment(
                            cr, SUPERUSER_ID, {"livechat_groups_serving_after_commit": True}
                        )
                        env["livechat.routing"]._serve_queues_after_commit(group_ids)
                except Exception:
                    _logger.warning(
                        "Serving the live chat queues %s after a commit failed", group_ids, exc_info=True
                    )

        pending.update(groups.ids)

    @api.model
    def _serve_queues_after_commit(self, group_ids):
        """What :meth:`_serve_after_commit` runs in its own transaction: the queues of
        ``group_ids`` served; a waiting session that another worker changed meanwhile (they
        are serving it, or handing it back) is theirs, and the others are served all the same."""
        self._serve_queues(self.env["livechat.group"].browse(group_ids).exists(), skip_conflicts=True)

    @api.model
    def _cron_serve_queues(self):
        """Serve every queue: operators who came online since take the oldest sessions."""
        waiting = self.env["discuss.channel"]._read_group(
            [("channel_type", "=", "livechat"), ("livechat_routing_state", "=", "queued")],
            ["livechat_group_id"],
        )
        self._serve_queues(self.env["livechat.group"].browse([group.id for (group,) in waiting]))
        # every minute: the timers run again by themselves after their job was killed
        self.env["livechat.timers"]._livechat_timers_watch()

    # ------------------------------------------------------------
    # One session at a time
    # ------------------------------------------------------------

    @api.model
    def _in_savepoint(self, session, action, *args, skip_conflicts=False, skip_errors=True):
        """``action(session, *args)`` in a savepoint of its own, for the loops that route many
        sessions in one transaction: when it fails, nothing of it is written and none of its
        bus notifications is sent; what the sessions before it wrote and sent is kept.

        What the sessions before it left for the commit (their bus notifications, the figures
        to refresh, the timers' wake-up) stays for the commit, done once for all of them: when
        ``action`` fails, the pre-commit hooks are put back as they were before it. A flushing
        savepoint inside ``action`` (the claim of an operator without settings) may have run
        them inside this savepoint: the rollback undid what they wrote, and they run again.

        :param bool skip_conflicts: a concurrent update (another worker changed the session
            since this transaction began) skips the session; by default it has the whole
            request retried, as Odoo does
        :param bool skip_errors: any other error is logged and skips the session; else it
            stops the caller (the timers: a failing session stays due, and is not retried in
            a loop)
        :return: what ``action`` returned, or None when it failed and was skipped
        """
        cr = self.env.cr
        self.env.flush_all()
        before = _pending(cr.precommit)
        batch = self.env.context.get(HAND_BACK_BATCH)
        mark = batch.mark() if batch is not None else None
        try:
            with cr.savepoint(flush=False):
                result = action(session, *args)
                self.env.flush_all()
                return result
        except psycopg2.errors.TransactionRollbackError:
            if not skip_conflicts:
                raise
            _logger.info(
                "live chat session %s changed meanwhile: left to the worker that changed it", session.id
            )
        except psycopg2.OperationalError:
            raise  # the database went away: nothing to go on with
        except Exception:
            if not skip_errors:
                raise
            _logger.exception(
                "Live chat session %s could not be routed; nothing of it was written.", session.id
            )
        # what the failed session queued for the commit, or left for its batch's end, goes with it
        self.env.transaction.clear()
        _restore(cr.precommit, before)
        if batch is not None:
            batch.undo(mark)
        return None


def _pending(callbacks):
    """What ``callbacks`` (a cursor's ``precommit``) hold now: its hooks and a copy of their
    data, for :func:`_restore`."""
    # the queue of hooks has no public reader: a savepoint must put back exactly those before it
    return list(callbacks._funcs), {key: copy.copy(value) for key, value in callbacks.data.items()}


def _restore(callbacks, pending):
    """Put ``callbacks`` back as :func:`_pending` read them."""
    funcs, data = pending
    callbacks.clear()
    for func in funcs:
        callbacks.add(func)
    callbacks.data.update(data)
