from odoo import api, fields, models

from odoo.addons.mail.tools.discuss import Store

from .livechat_routing import HAND_BACK_BATCH

# the context key of the messages a batch just wrote, none of them scheduled (see mail.message)
UNSCHEDULED = "livechat_groups_unscheduled_messages"


class DiscussChannel(models.Model):
    """The messages of a batch of hand-backs (``livechat.routing._hand_back_batch``: the timers,
    users archived): the routing's notices to the visitors and the staff's notes of who left
    are written together at the batch's end, then each is sent as ``message_post`` sends it.

    Posted one by one, each message read again what the ones before it had read (its alias
    domain, its reply-to address, its author), and what Discuss is sent of it was read one
    message at a time. Written in one ``_message_create``, they are read together. This is how
    stock's ``message_notify`` posts: ``_message_create``, then ``_notify_thread``."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_post_in_batch(self, body, author, subtype_xmlid, message_type="notification", **context):
        """Post ``body`` in this session at the end of the batch of hand-backs it is in.

        :param body: its text, or a function of the session that writes it when it is posted
            (as the session stands then, read for all the batch's sessions at once)
        :param author: ``res.partner`` who writes it
        :param str message_type: a notification of the routing, or a ``comment`` (a note written
            as its author would, as the note that someone joined is)
        :param context: the context it is sent in (e.g. ``livechat_groups_routing_notice``)
        :return: whether it was kept for the batch's end (False: no batch, post it now)
        """
        self.ensure_one()
        batch = self.env.context.get(HAND_BACK_BATCH)
        if batch is None or batch.ending:
            return False
        values = self._livechat_message_values(body, author, subtype_xmlid, message_type=message_type)
        batch.posts.append((self.id, values, context))
        return True

    def _livechat_message_values(self, body, author, subtype_xmlid, message_type="notification"):
        """The values of a message of the routing in this session (``_message_create``'s),
        written without ``message_post``: a notification (or ``message_type``), never mailed."""
        self.ensure_one()
        return {
            "author_id": author.id,
            "model": self._name,
            "res_id": self.id,
            "body": body,
            "message_type": message_type,
            "subtype_id": self.env["ir.model.data"]._xmlid_to_res_id(subtype_xmlid),
            "is_internal": False,
            "partner_ids": [],
            # never mailed: no signature, no address to reply to
            "email_add_signature": False,
            "reply_to": False,
        }

    def _livechat_post_pending(self):
        """Post now what this session keeps for the end of its batch of hand-backs: a message
        posted at once in it (a queue notice, whose record the routing keeps) comes after them."""
        batch = self.env.context.get(HAND_BACK_BATCH)
        if batch is None or not batch.posts:
            return
        mine = [post for post in batch.posts if post[0] in self.ids]
        if mine:
            batch.posts[:] = [post for post in batch.posts if post[0] not in self.ids]
            self._livechat_post_batch(mine)

    @api.model
    def _livechat_post_batch(self, posts):
        """Post ``posts`` (``[(session id, values, context)]``, see :meth:`_livechat_post_in_batch`),
        in their order: written at once, then Discuss is sent each one. As stock's
        ``message_notify``, no ``_message_post_after_hook`` runs: those of Discuss, of stock's
        live chat and of the routing act on what people write, not on these notifications."""
        if not posts:
            return self.env["mail.message"]
        # sudo: discuss.channel, res.partner, mail.message - the routing writes its notices and
        # the staff's notes, whoever handed the sessions back
        Session = self.sudo()
        sessions = Session.browse(dict.fromkeys(session_id for session_id, _values, _context in posts))
        authors = (
            self.env["res.partner"]
            .sudo()
            .browse(dict.fromkeys(values["author_id"] for _s, values, _c in posts))
        )
        # what creating each message would read of its session and its author, read for all
        names = dict(zip(sessions.ids, sessions.mapped("display_name"), strict=True))
        addresses = dict(zip(authors.ids, authors.mapped("email_formatted"), strict=True))
        # what Discuss is sent of each message, read for all: its session's staff, its author's
        # live chat name (see discuss_channel_privacy, and stock's mail.message._to_store)
        (sessions.channel_member_ids.partner_id | authors).user_ids.mapped("livechat_username")
        targets = [
            Session.browse(session_id).with_prefetch(sessions.ids).with_context(**context)
            for session_id, _values, context in posts
        ]
        values_list = [
            {
                **values,
                "body": values["body"](session) if callable(values["body"]) else values["body"],
                "record_name": names[session.id],
                "email_from": addresses[values["author_id"]],
            }
            for session, (_session_id, values, _context) in zip(targets, posts, strict=True)
        ]
        messages = Session._message_create(values_list)
        # as message_post: the time of the sessions' last interest
        sessions.last_interest_dt = fields.Datetime.now()
        # none of them is scheduled: what Discuss is sent of each needs not look (mail.message)
        messages = messages.with_context(**{UNSCHEDULED: frozenset(messages.ids)})
        for message, session, values in zip(messages, targets, values_list, strict=True):
            session._notify_thread(message, values)
        return messages

    @api.model
    def _livechat_join_batch(self, joining):
        """The operators whom a batch of hand-backs gave sessions join them, at its end, all at
        once (``joining``: ``[(discuss.channel, res.users)]``, see ``livechat.routing._join``),
        before the batch's messages are posted. What stock's ``_add_members`` does for a member
        who adds themselves without a "joined" message (the batch posts the staff's note), done
        for the set: the memberships are created in one ``create``, each operator's Discuss
        loads their new session (``discuss.channel/joined``), and the members of each session
        read who joined and how many they are now.

        Stock's ``_add_members`` looks for the existing members, creates and checks them, and
        reads the session for its notification one session at a time: about 10 queries per
        session handed over. ``test_join_batch_tells_as_stock`` checks that both send the same
        notifications."""
        if not joining:
            return
        # sudo: discuss.channel.member - the routing gives these sessions, whoever handed them back
        Member = self.env["discuss.channel.member"].sudo()
        wanted = dict.fromkeys((session.id, user.partner_id.id) for session, user in joining)
        existing = Member.search(
            [
                ("channel_id", "in", list({channel_id for channel_id, _partner_id in wanted})),
                ("partner_id", "in", list({partner_id for _channel_id, partner_id in wanted})),
            ]
        )
        for member in existing:
            wanted.pop((member.channel_id.id, member.partner_id.id), None)
        members = Member.create(
            [{"channel_id": channel_id, "partner_id": partner_id} for channel_id, partner_id in wanted]
        )
        for member in members:
            member._bus_send(
                "discuss.channel/joined",
                {
                    "channel": {
                        **member.channel_id._channel_basic_info(),
                        "model": "discuss.channel",
                        "is_pinned": True,
                    },
                    "open_chat_window": True,
                },
            )
        for session, joined in members.grouped("channel_id").items():
            session._bus_send_store(Store(session, {"memberCount": session.member_count}).add(joined))

    @api.model
    def _livechat_leave_batch(self, leaving):
        """The operators whom a batch of hand-backs took sessions from leave them, at its end,
        all at once (``leaving``: ``[(discuss.channel, res.users)]``, see
        ``livechat.routing._leave``). What stock's ``_action_unfollow`` does for one member whose
        "left" note is posted already (the batch posted the staff's note of who left and who
        answers now), done for the set: they stop following the sessions, their Discuss closes
        each one (``discuss.channel/leave``), their memberships go in one ``unlink`` and the
        members of each session read who left and how many they are now.

        Stock's ``_action_unfollow`` takes one member at a time: its ``unlink`` empties the ORM's
        cache and looks for what each membership holds (calls, sub-channels, attachments), about
        13 queries per session handed back. ``test_leave_batch_tells_as_stock`` checks that both
        send the same notifications."""
        if not leaving:
            return
        # sudo: discuss.channel, discuss.channel.member - the routing took these sessions from
        # them, whoever handed them back
        Session = self.sudo()
        sessions = Session.browse(dict.fromkeys(session.id for session, _operator in leaving))
        pairs = {(session.id, operator.partner_id.id) for session, operator in leaving}
        partner_ids = list({partner_id for _session_id, partner_id in pairs})
        # as stock's message_unsubscribe, for each of them
        self.env["mail.followers"].sudo().search(
            [
                ("res_model", "=", self._name),
                ("res_id", "in", sessions.ids),
                ("partner_id", "in", partner_ids),
            ]
        ).filtered(lambda follower: (follower.res_id, follower.partner_id.id) in pairs).unlink()
        members = (
            self.env["discuss.channel.member"]
            .sudo()
            .search([("channel_id", "in", sessions.ids), ("partner_id", "in", partner_ids)])
            .filtered(lambda member: (member.channel_id.id, member.partner_id.id) in pairs)
        )
        member_of = {(member.channel_id.id, member.partner_id.id): member for member in members}
        for session, operator in leaving:
            # as stock: who is no longer a member has the session closed in their Discuss all the same
            target = member_of.get((session.id, operator.partner_id.id)) or operator.partner_id
            target._bus_send_store(
                Store(session, {"is_pinned": False, "isLocallyPinned": False}),
                notification_type="discuss.channel/leave",
            )
        left = members.grouped("channel_id")
        members.unlink()
        # counted for all of them at once
        counts = dict(zip(sessions.ids, sessions.mapped("member_count"), strict=True))
        for session, gone in left.items():
            session._bus_send_store(
                session,
                {
                    "channelMembers": Store.many(gone, "DELETE", only_id=True),
                    "memberCount": counts[session.id],
                },
            )
