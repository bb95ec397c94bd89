from odoo import api, models


class DiscussChannel(models.Model):
    """Internal notes of a session are for its staff: neither the visitor, nor the employee who
    asked, nor a messenger customer receives them live or by push (``mail.message`` keeps them
    from their reads: see ``mail_message``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_post_operator_note(self, body):
        """Post an internal note for the session's operators (see :meth:`_notify_thread`)."""
        return self.message_post(body=body, message_type="comment", subtype_xmlid="mail.mt_note")

    def _livechat_staff_partners(self):
        """The members who work on this session: internal users, but not its customer."""
        partners = self.channel_member_ids.partner_id - self._livechat_customer_partners()
        return partners.filtered(lambda partner: partner.user_ids and not partner.partner_share)

    def _livechat_customer_partners(self):
        """Who this session is for, whatever the channel: the employee who asked (internal
        live chat, or a logged-in visitor), or the messenger's customer. They never read its
        internal notes, even when they are an employee."""
        return self.livechat_requester_id | self.livechat_messenger_partner_id

    @api.model
    def _livechat_customer_domain(self, partner):
        """The sessions whose customer is ``partner`` (see :meth:`_livechat_customer_partners`)."""
        return [
            "|",
            ("livechat_requester_id", "=", partner.id),
            ("livechat_messenger_partner_id", "=", partner.id),
        ]

    def _notify_thread(self, message, msg_vals=False, **kwargs):
        # an internal note of a live chat session is for its staff: neither the live update of
        # the conversation nor a push reaches the visitor or the employee who asked
        channel = self.with_context(livechat_groups_note=True) if message._livechat_is_staff_note() else self
        return super(DiscussChannel, channel)._notify_thread(message, msg_vals=msg_vals, **kwargs)

    def _notify_get_recipients(self, message, msg_vals=False, **kwargs):
        recipients = super()._notify_get_recipients(message, msg_vals=msg_vals, **kwargs)
        if self.env.context.get("livechat_groups_note"):
            staff = set(self._livechat_staff_partners().ids)
            recipients = [recipient for recipient in recipients if recipient["id"] in staff]
        return recipients

    def _bus_send(self, notification_type, message, /, *, subchannel=None):
        if (
            self.env.context.get("livechat_groups_note")
            and notification_type == "discuss.channel/new_message"
            and subchannel is None
        ):
            self.ensure_one()
            return self._livechat_staff_partners()._bus_send(notification_type, message)
        return super()._bus_send(notification_type, message, subchannel=subchannel)
