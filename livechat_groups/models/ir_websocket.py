from odoo import models


class IrWebsocket(models.AbstractModel):
    """Live chat groups as bus channels: one notification reaches every member of a group, or
    every supervisor of a live chat, whatever their number (rather than one per user)."""

    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        channels = super()._build_bus_channel_list(channels)
        user = self.env.user
        if user and not user._is_public() and not user.share:
            # sudo: livechat.group, im_livechat.channel - which groups the user is in, and which
            # live chats they supervise, decides what they hear; not what they may read
            channels.extend(self.env["livechat.group"].sudo().search([("member_ids", "in", user.ids)]))
            supervised = self.env["discuss.channel"].with_user(user)._livechat_supervised_channel_domain()
            channels.extend(
                (channel, "supervisors")
                for channel in self.env["im_livechat.channel"].sudo().search(supervised)
            )
        return channels
