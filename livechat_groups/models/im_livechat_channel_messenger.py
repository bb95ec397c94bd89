from odoo import fields, models


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    messenger_ids = fields.One2many(
        comodel_name="livechat.messenger",
        inverse_name="livechat_channel_id",
        string="Messengers",
        help="The WhatsApp and Telegram accounts whose customers this live chat answers.",
    )
    messenger_count = fields.Integer(compute="_compute_messenger_count", string="Messengers Count")
    livechat_messenger_rating = fields.Boolean(
        string="Ask Messenger Customers for a Rating",
        default=True,
        help="When a WhatsApp or Telegram session closes, its customer is asked once, with "
        "buttons, to rate it; their answer counts in the figures as the website's ratings do.",
    )

    def _compute_messenger_count(self):
        counts = dict(
            self.env["livechat.messenger"]._read_group(
                [("livechat_channel_id", "in", self.ids)], ["livechat_channel_id"], ["__count"]
            )
        )
        for channel in self:
            channel.messenger_count = counts.get(channel._origin, 0)

    def action_view_messengers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("livechat_groups.livechat_messenger_action")
        action["domain"] = [("livechat_channel_id", "=", self.id)]
        action["context"] = {"default_livechat_channel_id": self.id}
        return action
