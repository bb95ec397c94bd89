from odoo import models

from .discuss_channel_batch import UNSCHEDULED


class MailMessage(models.Model):
    """What Discuss is sent of the messages a batch of hand-backs wrote (see
    ``discuss_channel_batch``): none of them is scheduled, so each needs not look for its
    schedule, a query per message (stock's ``_to_store`` skips it when given the values the
    message was made of)."""

    _inherit = "mail.message"  # pylint: disable=consider-merging-classes-inherited

    def _to_store(self, store, /, *, msg_vals=None, **kwargs):
        unscheduled = self.env.context.get(UNSCHEDULED)
        # a frozenset only the batch puts there: a context sent over RPC cannot hold one
        if msg_vals is None and self and isinstance(unscheduled, frozenset) and set(self.ids) <= unscheduled:
            msg_vals = {"scheduled_date": False}
        return super()._to_store(store, msg_vals=msg_vals, **kwargs)
