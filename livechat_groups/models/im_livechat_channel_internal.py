from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.mail.tools.discuss import Store


class ImLivechatChannel(models.Model):
    """Internal live chats: the employees of their requester groups start a session from
    Discuss (not from the website's widget), routed like a visitor's."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def livechat_requester_channels(self):
        """The internal live chats the current user may write to, for Discuss.

        :return: ``[{"id", "name"}]``, in name order
        """
        # sudo: im_livechat.channel - employees may not read the groups that decide it
        channels = self.sudo().search(
            [("audience", "=", "internal"), ("requester_group_ids.member_ids", "in", self.env.uid)],
            order="name, id",
        )
        return [{"id": channel.id, "name": channel.name} for channel in channels]

    def livechat_start_session(self):
        """A requester starts a session of this internal live chat from Discuss, or finds the
        one they already have open; it is routed like a visitor's.

        :return: the session's store data, for Discuss to open it
        """
        self.ensure_one()
        user = self.env.user
        # sudo: im_livechat.channel - employees may not read the groups that decide it
        channel = self.sudo()
        if not channel._livechat_is_requester(user):
            raise AccessError(
                self.env._(
                    "Only the members of the requester groups of an internal live chat may start a "
                    "session with it from Discuss, and %(user)s is not one of %(channel)s.",
                    user=user.name,
                    channel=channel.name,
                )
            )
        # Two calls of one requester at once (a double click) must not open two sessions: both
        # write the requester's settings row first, so the second one conflicts, is retried, and
        # then finds the first one's session.
        # sudo: res.users.settings - the requester's own row, written by the system
        settings = self.env["res.users.settings"].sudo()._find_or_create_for_user(user)
        settings.livechat_last_request_date = fields.Datetime.now()
        settings.flush_recordset()
        # sudo: discuss.channel - the requester may not read their session while it waits
        Session = self.env["discuss.channel"].sudo()
        session = Session.search(
            [
                ("livechat_channel_id", "=", channel.id),
                ("livechat_requester_id", "=", user.partner_id.id),
                ("livechat_active", "=", True),
            ],
            order="id desc",
            limit=1,
        )
        if not session:
            vals = channel.with_context(livechat_groups_requester=True)._get_livechat_discuss_channel_vals(
                user.name, user_id=user.id, country_id=user.country_id.id, lang=user.lang
            )
            if not vals:
                # a live chat without entry groups routes as stock does, and refuses when nobody is online
                raise UserError(
                    self.env._(
                        "Nobody can answer in %(channel)s right now: try again later.", channel=channel.name
                    )
                )
            session = Session.create(vals)  # the routing never picks the requester: they are a member
            session._broadcast(session.livechat_operator_id.ids)
        return Store(self.env["discuss.channel"].browse(session.id)).get_result()

    def _livechat_is_requester(self, user):
        """Whether ``user`` may start a session of this internal live chat."""
        self.ensure_one()
        return self.audience == "internal" and user in self.requester_group_ids.filtered("active").member_ids
