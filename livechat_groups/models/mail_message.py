import re

from odoo import api, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

# what an empty body is made of: tags, blank and invisible characters (zero-width ones too) and
# their entities. One pattern, read alike by Python (the answer clock) and PostgreSQL (the figures)
EMPTY_BODY = r"<[^>]*>|&(nbsp|#160|#8203|#x200b);|[\s\u00a0\u200b\u200c\u200d\u2060\ufeff]"


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        """Employees do not see the operators' internal notes of the live chat sessions they
        are the customer of (asked in, or write to from a messenger), as stock hides internal
        notes from non-employees."""
        if not self.env.is_superuser() and self.env.user._is_internal():
            domain = self._livechat_requester_domain() + list(domain)
        return super()._search(domain, offset, limit, order)

    def _get_forbidden_access(self, operation):
        """Nor may they read such a note by its id; and nobody writes a message into a session
        they are not in (see ``discuss.channel._livechat_check_answer_access``)."""
        forbidden = super()._get_forbidden_access(operation)
        if operation == "create" and not self.env.is_superuser():
            return forbidden | self._livechat_unanswerable()
        if operation != "read" or self.env.is_superuser() or not self.env.user._is_internal():
            return forbidden
        # sudo: mail.message - which of these are notes of live chat sessions, from the cache
        notes = (self - forbidden).sudo().filtered(lambda message: message._livechat_is_staff_note())
        if not notes:
            return forbidden
        # sudo: discuss.channel - which of their sessions the user is the customer of
        Session = self.env["discuss.channel"].sudo()
        requested = set(
            Session.search(
                [
                    ("id", "in", notes.mapped("res_id")),
                    *Session._livechat_customer_domain(self.env.user.partner_id),
                ]
            ).ids
        )
        return forbidden | notes.filtered(lambda message: message.res_id in requested).with_env(self.env)

    def _livechat_unanswerable(self):
        """The messages of ``self`` written into a grouped session that the user is not in."""
        # sudo: mail.message - which session each message is written into
        session_ids = {message.res_id for message in self.sudo() if message.model == "discuss.channel"}
        refused = self.browse()
        # sudo: discuss.channel - membership decides, whoever asks
        for session in self.env["discuss.channel"].sudo().browse(session_ids).exists():
            try:
                session.with_env(self.env)._livechat_check_answer_access()
            except AccessError:
                refused |= self.filtered(lambda message, sid=session.id: message.sudo().res_id == sid)
        return refused

    @api.model
    def _get_with_access(self, message_id, operation, **kwargs):
        """Discuss's routes that write on a message (react, edit, delete an attachment) fall
        back on reading its thread: a session one may only read is no place to write either."""
        message = super()._get_with_access(message_id, operation, **kwargs)
        if message and operation != "read" and not self.env.su and message._livechat_unanswerable():
            return self.browse()
        return message

    def _extras_to_store(self, store, format_reply):
        """A reply that the visitor (or the employee who asked) reads never carries the
        internal note it answers: Discuss sends the replied-to message along, read as superuser."""
        # sudo: mail.message - whether a reply answers a note is read whoever asks
        quoting = self.sudo().filtered(
            lambda message: message.parent_id
            and message.parent_id._livechat_is_staff_note()
            and not message._livechat_is_staff_note()
        )
        quoting = self.browse(quoting.ids)
        if format_reply and quoting:
            super(MailMessage, quoting)._extras_to_store(store, format_reply=False)
            for message in quoting:
                store.add(message, {"parentMessage": False})
            return super(MailMessage, self - quoting)._extras_to_store(store, format_reply=format_reply)
        return super()._extras_to_store(store, format_reply=format_reply)

    def _bus_send(self, notification_type, message, /, *, subchannel=None):
        """The updates of a live chat session's internal note (edit, reaction, pin...) go to
        its staff, not to the whole conversation as other messages' do."""
        notes = self.filtered(lambda message: message._livechat_is_staff_note())
        for note in notes:
            # sudo: discuss.channel - who works on the session is not for the caller to read
            session = self.env["discuss.channel"].sudo().browse(note.res_id)
            session._livechat_staff_partners()._bus_send(notification_type, message, subchannel=subchannel)
        return super(MailMessage, self - notes)._bus_send(notification_type, message, subchannel=subchannel)

    def _livechat_is_staff_note(self):
        """Whether this message is an internal note of a live chat session."""
        self.ensure_one()
        if self.model != "discuss.channel" or not self.res_id:
            return False
        # sudo: mail.message.subtype, discuss.channel - reading what kind of message this is
        message = self.sudo()
        is_note = message.is_internal or message.subtype_id.internal
        return is_note and self.env["discuss.channel"].sudo().browse(self.res_id).channel_type == "livechat"

    def _livechat_says_something(self):
        """Whether this message carries anything for its reader: text, or a file. An empty
        comment (possible over RPC) is neither sent to a messenger customer nor an answer."""
        self.ensure_one()
        # sudo: mail.message - what the message holds, whoever posted it
        message = self.sudo()
        return bool(message.attachment_ids or re.sub(EMPTY_BODY, "", message.body or "", flags=re.IGNORECASE))

    @api.model
    def _livechat_says_something_sql(self, message):
        """:meth:`_livechat_says_something` in SQL, for the figures' first reply.

        :param SQL message: the ``mail_message`` row's alias
        """
        return SQL(
            """(regexp_replace(COALESCE(%(m)s.body, ''), %(empty)s, '', 'gi') <> ''
                OR EXISTS (SELECT 1 FROM message_attachment_rel r WHERE r.message_id = %(m)s.id))""",
            m=message,
            empty=EMPTY_BODY,
        )

    @api.model
    def _livechat_requester_domain(self):
        # sudo: discuss.channel - only the ids of the user's own sessions as a customer, as a subquery
        Session = self.env["discuss.channel"].sudo()
        requested = Session._search(Session._livechat_customer_domain(self.env.user.partner_id))
        # a note is a message of an internal subtype, or one posted as internal
        return [
            "!",
            "&",
            "&",
            ("model", "=", "discuss.channel"),
            ("res_id", "in", requested),
            "|",
            ("subtype_id.internal", "=", True),
            ("is_internal", "=", True),
        ]
