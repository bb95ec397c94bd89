from odoo import api, fields, models

from .livechat_routing import HAND_BACK_BATCH


class DiscussChannel(models.Model):
    """The messages of a batch of hand-backs (``livechat.routing._hand_back_batch``: the timers,
    users archived): the routing's notices to the visitors and the staff's notes of who left
    are written together at the batch's end, then each is sent as ``message_post`` sends it.

    Posted one by one, each message read again what the ones before it had read (its alias
    domain, its reply-to address, its author), and what Discuss is sent of it was read one
    message at a time. Written in one ``_message_create``, they are read together. This is how
    stock's ``message_notify`` posts: ``_message_create``, then ``_notify_thread``."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_post_in_batch(self, body, author, subtype_xmlid, **context):
        """Post ``body`` in this session at the end of the batch of hand-backs it is in.

        :param body: its text, or a function of the session that writes it when it is posted
            (as the session stands then, read for all the batch's sessions at once)
        :param author: ``res.partner`` who writes it
        :param context: the context it is sent in (e.g. ``livechat_groups_routing_notice``)
        :return: whether it was kept for the batch's end (False: no batch, post it now)
        """
        self.ensure_one()
        batch = self.env.context.get(HAND_BACK_BATCH)
        if batch is None or batch.ending:
            return False
        batch.posts.append((self.id, self._livechat_message_values(body, author, subtype_xmlid), context))
        return True

    def _livechat_message_values(self, body, author, subtype_xmlid):
        """The values of a message of the routing in this session (``_message_create``'s),
        written without ``message_post``: a notification, never mailed."""
        self.ensure_one()
        return {
            "author_id": author.id,
            "model": self._name,
            "res_id": self.id,
            "body": body,
            "message_type": "notification",
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
        for message, session, values in zip(messages, targets, values_list, strict=True):
            session._notify_thread(message, values)
        return messages
