from odoo import fields, models

from odoo.addons.mail.tools.discuss import Store


class MailMessage(models.Model):
    _inherit = "mail.message"  # pylint: disable=consider-merging-classes-inherited

    def _extras_to_store(self, store: Store, format_reply):
        super()._extras_to_store(store, format_reply=format_reply)
        # sudo: discuss.channel - which of these messages are of messenger sessions (from the cache)
        channel_ids = {message.res_id for message in self if message.model == "discuss.channel"}
        if not self.env["discuss.channel"].sudo().browse(channel_ids).filtered("livechat_messenger_id"):
            return
        # sudo: livechat.messenger.message - where the session's messages to its customer stand
        rows = (
            self.env["livechat.messenger.message"]
            .sudo()
            .search([("message_id", "in", self.ids), ("direction", "=", "out")])
        )
        for message, message_rows in rows.grouped("message_id").items():
            store.add(message, message._livechat_messenger_state_values(message_rows))

    def _livechat_messenger_state_values(self, rows=None):
        """Where this message to a messenger customer stands, for Discuss: the least advanced
        state of its parts (text, files), or failed with the reason when one failed. While it
        waits after a failed attempt, why and until when (``livechatMessengerWait``: a reason
        code, the provider and the next attempt in UTC), which each reader's Discuss words in
        their own language and time zone."""
        self.ensure_one()
        if rows is None:
            # sudo: livechat.messenger.message - see _extras_to_store
            rows = (
                self.env["livechat.messenger.message"]
                .sudo()
                .search([("message_id", "=", self.id), ("direction", "=", "out")])
            )
        values = {
            "livechatMessengerState": False,
            "livechatMessengerFailure": False,
            "livechatMessengerWait": False,
        }
        if not rows:
            return values
        failed = rows.filtered(lambda row: row.state == "failed")[:1]
        if failed:
            return dict(
                values, livechatMessengerState="failed", livechatMessengerFailure=failed.failure_reason
            )
        order = ["queued", "sending", "sent", "delivered", "read"]
        state = min(rows.mapped("state"), key=order.index)
        waiting = rows.filtered(lambda row: row.state in ("queued", "sending") and row.failure_code)[:1]
        if waiting:
            values["livechatMessengerWait"] = {
                "reason": waiting.failure_code,
                "provider": waiting.messenger_id._messenger_provider_name(),
                "next": waiting.state == "queued" and fields.Datetime.to_string(waiting.next_attempt_date),
            }
        return dict(values, livechatMessengerState=state)
