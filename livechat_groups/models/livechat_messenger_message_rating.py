from odoo import fields, models

from ..messengers import whatsapp


class LivechatMessengerMessage(models.Model):
    """The rating question in the outbox: sent with the provider's own buttons (WhatsApp
    interactive reply buttons, a Telegram inline keyboard) instead of as plain text."""

    _inherit = "livechat.messenger.message"  # pylint: disable=consider-merging-classes-inherited

    rating_question = fields.Boolean(
        readonly=True, help="This row asks the customer to rate their session, with buttons."
    )

    def _messenger_call_rating(self, api):
        """Send the rating question of this row, with its buttons; return the provider's id."""
        session, messenger = self.session_id, self.messenger_id
        text = self._messenger_text()
        buttons = session._livechat_rating_buttons()
        if messenger.provider == "whatsapp":
            payload = whatsapp.buttons_message(session.livechat_messenger_chat_id, text, buttons)
            return api.send(whatsapp.with_reference(payload, self.reference))
        return api.send_buttons(session.livechat_messenger_chat_id, text, buttons)
