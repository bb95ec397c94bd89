import re

from markupsafe import Markup

from odoo import api, models
from odoo.tools import SQL

from odoo.addons.mail.tools.discuss import Store

# the visitor's place in a queue notice
QUEUE_POSITION = re.compile(r'(<span class="o_livechat_groups_position">)\d+(</span>)')


class DiscussChannel(models.Model):
    """What the visitor (or the employee who asked) reads of the routing, posted by OdooBot:
    their place in the queue, kept up to date as it moves; when the desk opens again; who
    answers them now. Messenger customers receive the same notices (see
    ``discuss_channel_messenger``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_post_notice(self, body, starting=False, batched=False):
        """Post a notice of the routing, by OdooBot, that the visitor and operators see.

        :param bool starting: the session is being created (``get_session``): nobody is
            subscribed to it yet and it has no messenger customer to send to, so the notice is
            only written, as stock's ``_message_log`` writes, without ``message_post``'s
            notifications: whoever opens the session loads it with its other messages
        :param bool batched: in a batch of hand-backs, posted at its end with the batch's other
            messages (``discuss_channel_batch``); the caller gets no message
        """
        body = Markup('<div class="o_mail_notification">%s</div>') % body
        odoobot = self._livechat_odoobot()
        if starting and not self.livechat_messenger_id:
            # sudo: mail.message - OdooBot's notice, written by the routing for whoever asked
            return self.sudo()._message_create(
                [self._livechat_message_values(body, odoobot, "mail.mt_comment")]
            )
        # the context marks it as the routing's: a messenger customer receives it too
        if batched and self._livechat_post_in_batch(
            body, odoobot, "mail.mt_comment", livechat_groups_routing_notice=True
        ):
            return self.env["mail.message"]
        return self.with_context(livechat_groups_routing_notice=True).message_post(
            author_id=odoobot.id,
            body=body,
            message_type="notification",
            subtype_xmlid="mail.mt_comment",
        )

    def _livechat_visitor_lang(self):
        """The language of who asked, whoever acts (an operator, a supervisor, the scheduled
        actions): the logged-in requester's, the messenger customer's, the website visitor's
        (their visitor record's, what their browser asked for when the session started, their
        guest's), else the default language of the live chat's website, else the company's.
        Only installed languages count.

        :return: a language code
        """
        self.ensure_one()
        # sudo: discuss.channel, res.partner, mail.guest - the customer's language, whoever acts
        session = self.sudo()
        installed = {code for code, _name in self.env["res.lang"].get_installed()}

        def candidates():
            # in order, each read only when those before it gave no installed language
            yield session.livechat_requester_id.lang
            yield session.livechat_messenger_partner_id.lang
            if "livechat_visitor_id" in session._fields:  # website_livechat
                yield session.livechat_visitor_id.lang_id.code
            yield session.livechat_visitor_lang
            # the guest of one member read with those of the sessions read with this one (a
            # batch of hand-backs): mapped over this session's members alone, one query each
            member = next((member for member in session.channel_member_ids if member.guest_id), None)
            yield member and member.guest_id.lang
            Website = self.env.get("website")
            if Website is not None and "channel_id" in Website._fields:  # website_livechat
                website = Website.sudo().search(
                    [("channel_id", "=", session.livechat_channel_id.id)], limit=1
                )
                yield website.default_lang_id.code
            yield session.env.company.partner_id.lang

        return next((code for code in candidates() if code in installed), "en_US")

    def _livechat_visitor_env(self):
        """This session's environment in the language of who asked (see
        :meth:`_livechat_visitor_lang`), for what they read."""
        return self.with_context(lang=self._livechat_visitor_lang()).env

    def _livechat_post_waiting_notices(self, starting=False):
        """Tell the visitor that they wait (:meth:`_livechat_post_queue_notice`) and, outside
        business hours, when the desk opens (:meth:`_livechat_post_closed_notice`).

        :param bool starting: the session is being created: a website visitor's widget said the
            desk is closed already, as its welcome (``im_livechat.channel.get_livechat_info``)
        """
        self._livechat_post_queue_notice(starting=starting)
        website = not self.livechat_messenger_id and self.livechat_channel_id.audience == "external"
        if not (starting and website):
            self._livechat_post_closed_notice(starting=starting)

    def _livechat_post_first_notices(self):
        """The session was just created for the customer's first message, now posted: when it
        waits, tell them where they stand, below it (see ``livechat.routing._record_hop``). An
        operator who got it at once answers them themselves."""
        if self.livechat_routing_state == "queued":
            self._livechat_post_waiting_notices()

    def _livechat_post_queue_notice(self, starting=False):
        """Tell the visitor that they wait, and their place in the queue (``starting``: see
        :meth:`_livechat_post_notice`)."""
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
        self.livechat_queue_notice_id = self._livechat_post_notice(
            self._livechat_queue_notice_body(position), starting=starting
        )

    def _livechat_post_closed_notice(self, starting=False):
        """When every group that may answer this waiting session is outside its business hours,
        tell the visitor when the desk opens again, in their language and time zone when known
        (``starting``: see :meth:`_livechat_post_notice`)."""
        guest = self.channel_member_ids.guest_id[:1]
        tz = self.livechat_requester_id.tz or guest.timezone or None
        env = self._livechat_visitor_env()
        # sudo: livechat.group - the visitor may know when the desk opens, not who is in it
        when = (
            self.env["livechat.routing"]
            ._session_groups(self)
            .with_env(env(su=True))
            ._livechat_opening_text(tz=tz)
        )
        if when:
            self._livechat_post_notice(
                env._(
                    "We are closed right now: we answer again from %(when)s. You may write your "
                    "question now, it waits for us.",
                    when=when,
                ),
                starting=starting,
            )

    def _livechat_queue_notice_body(self, position):
        """The visitor's queue notice, in honest words: in manual routing an operator takes it
        by hand, when nobody of the group is online nobody answers soon, else they wait for a
        busy operator. The place is marked so that the notice can be kept up to date."""
        channel = self.livechat_channel_id
        env = self._livechat_visitor_env()
        if channel.routing_mode == "manual":
            text = env._(
                "Your request waits for an operator to take it: you are number %(position)s in the "
                "queue of %(group)s. What you write now is kept."
            )
        # sudo: livechat.group, res.users - whether anyone of the group is online
        elif not self.sudo().livechat_group_id._livechat_anyone_online():
            text = env._(
                "Nobody is online right now: you are number %(position)s in the queue of %(group)s, "
                "and we will answer you when someone is back. What you write now is kept; you may "
                "also come back later."
            )
        else:
            text = env._(
                "All our operators are busy: you are number %(position)s in the queue of %(group)s. "
                "Stay here, we will answer you as soon as possible; what you write now is kept."
            )
        return Markup(text) % {
            "position": Markup('<span class="o_livechat_groups_position">%s</span>') % position,
            # sudo: livechat.group - the name of the group the visitor waits for is theirs to read
            "group": self.livechat_group_id.with_env(env).sudo().name,
        }

    def _livechat_notice_operator_answers(self, operator):
        """The visitor's queue notice no longer says they wait: it says who answers them. A
        messenger customer cannot see a message rewritten: they are told in a new one."""
        # sudo: mail.message - OdooBot's notice is rewritten by whoever handed the session over
        notice = self.livechat_queue_notice_id.sudo()
        if not notice:
            return
        text = self._livechat_visitor_env()._(
            "%(operator)s is answering you now.", operator=operator.livechat_username or operator.name
        )
        if self.livechat_messenger_id:
            self._livechat_post_notice(text)
            # sudo: discuss.channel - the notice is done: the routing forgets it
            self.sudo().livechat_queue_notice_id = False
            return
        notice.body = Markup('<div class="o_mail_notification">%s</div>') % text
        notice._bus_send_store(notice, {"body": notice.body, "write_date": notice.write_date})
        # sudo: discuss.channel - the notice is done: the routing forgets it
        self.sudo().livechat_queue_notice_id = False

    @api.model
    def _livechat_refresh_queue_notices(self, groups):
        """Someone left the queues of ``groups`` (or came back at their front): the visitors
        waiting there moved. Each queue sends one notification on its own bus channel
        (``(group, "queue")``, to which only its waiting visitors may subscribe, see
        ``ir_websocket``): the group's waiting sessions in the queue's order (waiting since,
        then id), their ids and nothing else. Each visitor's client counts those before its own
        session and writes the number into its notice, in the words it was posted in
        (``livechat_queue_places.js``): one row per queue, however long, and never one per
        visitor. Nothing is written, so two departures never wait on each other: the notice
        keeps the text it was posted with and reads its place live when loaded
        (:meth:`_livechat_queue_places`, ``mail_message_notices``). Messenger customers are
        not sent each move (they read their place when they are queued), but hold their place."""
        if not groups:
            return
        self.env.flush_all()
        # the queue's order, from its index: the others' session ids open nothing to a visitor
        # who is not their member (see discuss.channel's rules)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT livechat_group_id, array_agg(id ORDER BY livechat_queued_date, id)
                  FROM discuss_channel
                 WHERE livechat_routing_state = 'queued' AND livechat_group_id = ANY(%s)
                 GROUP BY livechat_group_id
                """,
                groups.ids,
            )
        )
        queues = dict(rows)
        # sudo: livechat.group - the queue's channel is the group's, whoever moved it
        for group in groups.sudo():
            if group.id in queues:
                group._bus_send(
                    "livechat_groups/queue_places",
                    {"group_id": group.id, "queue": queues[group.id]},
                    subchannel="queue",
                )

    @api.model
    def _livechat_queue_places(self, notices):
        """The live place in their queue of the visitors whose queue notice is one of
        ``notices``, in one query: the queue's order (waiting since, then id) read from its
        index, so that a place costs nothing to keep. A messenger customer's notice stays as it
        was sent to them.

        :return: ``{notice id: (session id, place, the notice's stored body, group id)}``
        """
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT q.notice_id, q.session_id, q.place, m.body, q.group_id
                  FROM (SELECT c.livechat_queue_notice_id AS notice_id, c.id AS session_id,
                               c.livechat_group_id AS group_id, c.livechat_messenger_id AS messenger_id,
                               row_number() OVER (PARTITION BY c.livechat_group_id
                                                  ORDER BY c.livechat_queued_date, c.id) AS place
                          FROM discuss_channel c
                         WHERE c.livechat_routing_state = 'queued'
                           AND c.livechat_group_id IN (
                               SELECT s.livechat_group_id FROM discuss_channel s
                                WHERE s.livechat_queue_notice_id = ANY(%s) AND s.livechat_routing_state = 'queued')) q
                  JOIN mail_message m ON m.id = q.notice_id
                 WHERE q.messenger_id IS NULL AND q.notice_id = ANY(%s)
                """,
                notices.ids,
                notices.ids,
            )
        )
        return {
            notice_id: (session_id, place, body, group_id)
            for notice_id, session_id, place, body, group_id in rows
        }

    @api.model
    def _livechat_queue_notice_at(self, body, position):
        """The stored ``body`` of a queue notice, with the visitor's place ``position`` in it."""
        # on the plain text of the stored HTML: re on Markup would escape the groups
        return Markup(QUEUE_POSITION.sub(rf"\g<1>{position}\g<2>", str.__str__(body or "")))

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
        # Stock's "mail.message/delete" would run Discuss's unread counter on it, which fails in
        # the visitor's widget (their member has no seen message yet) and leaves a "1 new
        # message" banner: the record is dropped from their store as stock's Store drops any.
        self._bus_send_store(Store(notice, delete=True))
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

    def _get_visitor_leave_message(self, operator=False, cancel=False):
        # "Visitor left the conversation." is for the staff, posted once for all of them while
        # the visitor leaves in their own language: it is in the language of the operator who
        # holds the session (who reads it), else the company's while it waits
        if not self.livechat_routing_state:
            return super()._get_visitor_leave_message(operator=operator, cancel=cancel)
        # sudo: res.users - the operator's language, whoever leaves (the visitor, as a guest)
        session = self.sudo()
        lang = session._livechat_operator_user().lang or session.env.company.partner_id.lang
        return super(DiscussChannel, self.with_context(lang=lang))._get_visitor_leave_message(
            operator=operator, cancel=cancel
        )
