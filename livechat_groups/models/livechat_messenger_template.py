from odoo import fields, models


class LivechatMessengerTemplate(models.Model):
    """A message template approved by WhatsApp for the messenger's account: the only kind of
    message that reaches a customer more than 24 hours after they last wrote."""

    _name = "livechat.messenger.template"
    _description = "Live Chat Messenger Template"
    _order = "messenger_id, sequence, id"

    messenger_id = fields.Many2one(
        comodel_name="livechat.messenger", required=True, index=True, ondelete="cascade"
    )
    sequence = fields.Integer(default=10)
    name = fields.Char(
        required=True, help="The template's name, exactly as in WhatsApp Manager (e.g. follow_up)."
    )
    language = fields.Char(required=True, default="en_US", help="The template's language code, e.g. en_US.")
    body = fields.Text(
        required=True,
        help="What the template says, as the operator reads it in the conversation.",
    )
    active = fields.Boolean(default=True)
