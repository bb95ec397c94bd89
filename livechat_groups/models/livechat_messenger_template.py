from odoo import api, fields, models
from odoo.exceptions import ValidationError


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

    @api.constrains("messenger_id")
    def _check_messenger_sends_templates(self):
        # only WhatsApp has templates: the send job has nothing to send one with elsewhere
        # sudo: livechat.messenger - its provider, whichever company the account is of
        if self.sudo().messenger_id.filtered(lambda messenger: messenger.provider != "whatsapp"):
            raise ValidationError(self.env._("Only a WhatsApp account has message templates."))
