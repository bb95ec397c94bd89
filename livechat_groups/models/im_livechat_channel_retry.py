from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL

# a visitor's widget that asks again for a session within this delay, before they wrote
# anything in it, gets the session already made (the answer of the first request was lost)
RETRY_WINDOW = timedelta(seconds=60)


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_retried_session(self, guest, partner, chatbot_script_id=None):
        """The session a repeated ``get_session`` of this visitor means: their session of this
        live chat made in the last :data:`RETRY_WINDOW`, still open, where they wrote nothing
        yet. Its saving was committed, but its answer lost (a worker killed, the bus down right
        after the commit), and the widget asked again.

        The visitor is their guest (cookie), or their user's partner when logged in. A guest's
        row is touched first: of two requests of one guest at once, the second waits for the
        first, then PostgreSQL has it run again (a serialization failure), and it finds the
        session made.

        :param guest: ``mail.guest`` of the request, or empty
        :param partner: ``res.partner`` of the logged-in visitor, or empty
        :param chatbot_script_id: the chatbot the request starts with: a session of another
            one (or of none) is not its retry
        :return: ``discuss.channel``, or empty
        """
        self.ensure_one()
        Session = self.env["discuss.channel"]
        if (not guest and not partner) or not self._is_grouped():
            # a live chat without groups behaves as stock's: each request, a session
            return Session
        if guest:
            # SQL: a row lock that makes two requests of one guest take turns
            self.env.execute_query(
                SQL(
                    "UPDATE mail_guest SET write_date = NOW() AT TIME ZONE 'UTC' WHERE id = %s",
                    guest.id,
                )
            )
            member = [("channel_member_ids.guest_id", "=", guest.id)]
        else:
            member = [
                ("channel_member_ids.partner_id", "=", partner.id),
                ("livechat_operator_id", "!=", partner.id),
            ]
        # sudo: discuss.channel - the visitor's own sessions, found for the public route
        sessions = Session.sudo().search(
            [
                ("channel_type", "=", "livechat"),
                ("livechat_channel_id", "=", self.id),
                ("livechat_active", "=", True),
                ("create_date", ">=", fields.Datetime.now() - RETRY_WINDOW),
                *member,
            ],
            order="id desc",
        )
        for session in sessions.filtered(
            lambda session: session.chatbot_current_step_id.chatbot_script_id.id
            == (chatbot_script_id or False)
        ):
            authors = session.message_ids.filtered(
                lambda message: (guest and message.author_guest_id == guest)
                or (partner and message.author_id == partner)
            )
            if not authors:
                return session
        return Session
