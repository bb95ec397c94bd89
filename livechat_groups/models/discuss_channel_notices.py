import re

from markupsafe import Markup

from odoo import api, models

from odoo.addons.mail.tools.discuss import Store

# the visitor's place in a queue notice
QUEUE_POSITION = re.compile(r'(<span class="o_livechat_groups_position">)\d+(</span>)')


class DiscussChannel(models.Model):
    """What the visitor (or the employee who asked) reads of the routing, posted by OdooBot:
    their place in the queue, kept up to date as it moves; when the desk opens again; who
    answers them now. Messenger customers receive the same notices (see
    ``discuss_channel_messenger``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_post_notice(self, body):
        """Post a notice of the routing, by OdooBot, that the visitor and operators see."""
        # the context marks it as the routing's: a messenger customer receives it too
        return self.with_context(livechat_groups_routing_notice=True).message_post(
            author_id=self.env.ref("base.partner_root").id,
            body=Markup('<div class="o_mail_notification">%s</div>') % body,
            message_type="notification",
            subtype_xmlid="mail.mt_comment",
        )

    def _livechat_visitor_lang(self):
        """The language of who asked: the employee's, or the website visitor's when known."""
        guest = self.channel_member_ids.guest_id[:1]
        return self.livechat_requester_id.lang or guest.lang or self.env.lang

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
        env = self.with_context(lang=self._livechat_visitor_lang()).env
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
                )
            )

    def _livechat_queue_notice_body(self, position):
        """The visitor's queue notice, in honest words: in manual routing an operator takes it
        by hand, when nobody of the group is online nobody answers soon, else they wait for a
        busy operator. The place is marked so that the notice can be kept up to date."""
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
            text = self.env._(
                "All our operators are busy: you are number %(position)s in the queue of %(group)s. "
                "Stay here, we will answer you as soon as possible; what you write now is kept."
            )
        return Markup(text) % {
            "position": Markup('<span class="o_livechat_groups_position">%s</span>') % position,
            "group": self.livechat_group_id.name,
        }

    def _livechat_notice_operator_answers(self, operator):
        """The visitor's queue notice no longer says they wait: it says who answers them."""
        # sudo: mail.message - OdooBot's notice is rewritten by whoever handed the session over
        notice = self.livechat_queue_notice_id.sudo()
        if not notice:
            return
        notice.body = Markup('<div class="o_mail_notification">%s</div>') % self.env._(
            "%(operator)s is answering you now.", operator=operator.livechat_username or operator.name
        )
        notice._bus_send_store(notice, {"body": notice.body, "write_date": notice.write_date})
        # sudo: discuss.channel - the notice is done: the routing forgets it
        self.sudo().livechat_queue_notice_id = False

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
