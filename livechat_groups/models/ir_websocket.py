import re

from odoo import models
from odoo.osv import expression

from odoo.addons.mail.models.discuss.mail_guest import add_guest_to_context

# the bus channel of a group's queue, as a waiting visitor's client asks for it
QUEUE_CHANNEL = re.compile(r"livechat_groups_queue_(\d+)")


class IrWebsocket(models.AbstractModel):
    """Live chat groups as bus channels: one notification reaches every member of a group, or
    every supervisor of a live chat, or every visitor waiting in a group's queue, whatever
    their number (rather than one per user)."""

    _inherit = "ir.websocket"

    @add_guest_to_context
    def _build_bus_channel_list(self, channels):
        asked = [
            channel for channel in channels if isinstance(channel, str) and QUEUE_CHANNEL.fullmatch(channel)
        ]
        channels = super()._build_bus_channel_list([channel for channel in channels if channel not in asked])
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
        if asked:
            # the guest as stock's Discuss found them (by their cookie, or the embedded widget's token)
            guests = [channel for channel in channels if isinstance(channel, self.pool["mail.guest"])]
            groups = {int(QUEUE_CHANNEL.fullmatch(name)[1]) for name in asked}
            channels.extend(self._livechat_queue_channels(groups, guests[0] if guests else None))
        return channels

    def _livechat_queue_channels(self, group_ids, guest=None):
        """The queues of ``group_ids`` that the current visitor (guest, or logged-in user) waits
        in, as bus channels: they hear how their queue moves (see
        ``discuss.channel._livechat_refresh_queue_notices``). Any other queue asked for is
        dropped silently: a queue is heard only by whom it keeps waiting.

        :param guest: ``mail.guest`` of the websocket, as stock's Discuss found it, if any

        :return: ``[(livechat.group, "queue")]``
        """
        guest = guest or self.env["mail.guest"]._get_guest_from_context()
        user = self.env.user
        members = []
        if guest:
            members.append([("guest_id", "=", guest.id)])
        if user and not user._is_public():
            members.append([("partner_id", "=", user.partner_id.id)])
        if not members:
            return []
        # sudo: discuss.channel - which queues the visitor waits in, from their own memberships
        waiting = (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [
                    ("channel_type", "=", "livechat"),
                    ("livechat_routing_state", "=", "queued"),
                    ("livechat_group_id", "in", sorted(group_ids)),
                    ("channel_member_ids", "any", expression.OR(members)),
                ]
            )
        )
        return [(group, "queue") for group in waiting.livechat_group_id]
