from odoo import models

from .discuss_channel_notices import QUEUE_POSITION


class MailMessage(models.Model):
    """A visitor's queue notice reads their place in the queue live, wherever it is loaded
    (their widget, an operator's Discuss): the stored text keeps the place it was posted with,
    so that a queue moving writes nothing (see ``discuss_channel_notices``). It names the group
    whose queue it is: the visitor's client follows that queue's moves on the bus."""

    _inherit = "mail.message"  # pylint: disable=consider-merging-classes-inherited

    def _to_store(self, store, /, *, fields=None, **kwargs):
        super()._to_store(store, fields=fields, **kwargs)
        if fields is not None and "body" not in fields:
            return
        # sudo: mail.message - which of these are queue notices, from what was just read
        notices = self.sudo().filtered(
            lambda message: message.model == "discuss.channel"
            and message.message_type == "notification"
            and QUEUE_POSITION.search(str.__str__(message.body or ""))
        )
        if not notices:
            return
        Session = self.env["discuss.channel"]
        for notice_id, (_session_id, place, body, group_id) in Session._livechat_queue_places(
            notices
        ).items():
            store.add(
                self.browse(notice_id),
                {
                    "body": Session._livechat_queue_notice_at(body, place),
                    # the queue whose moves the visitor's client follows (livechat_queue_places.js)
                    "livechat_groups_queue_group_id": group_id,
                },
            )
