import logging

from odoo import models

from ..messengers import MessengerError

_logger = logging.getLogger(__name__)


class LivechatMessenger(models.Model):
    """The intake of the customers' answers to the rating question (see
    ``discuss.channel._livechat_rating_ask``): a tap on a rating button, and the comment in
    their next message."""

    _inherit = "livechat.messenger"  # pylint: disable=consider-merging-classes-inherited

    def _messenger_rate(self, inbound, row):
        """A tap on a rating button (``rate``): the rating of the session it names, when that
        session takes it (:meth:`discuss.channel._livechat_rating_accepts`: the customer's own,
        their last, asked, not rated yet). Anything else (a second tap, a tap on an old question
        after a new session started, a button naming another customer's session) changes
        nothing. Telegram's tap is answered either way: the customer's app waits for it.

        :return: True: the tap is never posted as a message
        """
        self.env["livechat.messenger.chat"]._messenger_lock(self, inbound.chat_id)
        # sudo: discuss.channel - the intake runs as the provider, who reads no session
        session = self.env["discuss.channel"].sudo().browse(int(inbound.target))
        accepted = session._livechat_rating_accepts(self, inbound.chat_id)
        thanks = ""
        if accepted:
            rating = session._livechat_rating_apply(inbound.rating)
            row.write({"session_id": session.id, "message_id": rating.message_id.id})
            thanks = session._livechat_visitor_env()._("Thank you for your rating!")
        else:
            _logger.info(
                "livechat messenger %s: rating of session %s by %s refused (not theirs, not their "
                "last, not asked, or already rated)",
                self.id,
                inbound.target,
                inbound.chat_id,
            )
        if self.provider == "telegram" and inbound.ref:
            self._messenger_answer_callback(inbound.ref, thanks)
        elif accepted:
            # WhatsApp shows no answer to a tap: the customer reads it as a message
            session._livechat_post_notice(thanks)
        return True

    def _messenger_answer_callback(self, callback_query_id, text):
        """Answer a Telegram tap (``answerCallbackQuery``); a failure is logged, not raised: the
        rating is recorded, only the customer's spinner stops later."""
        try:
            self._messenger_api().answer_callback(callback_query_id, text)
        except MessengerError as error:
            _logger.warning("livechat messenger %s: answerCallbackQuery failed (%s)", self.id, error)

    def _messenger_rating_comment(self, inbound, row):
        """Whether ``inbound``, a text from a customer without an open session, is the comment
        of the rating they just gave (their next message after the tap, within the session's
        ``livechat_rating_comment_until``): it is then stored with the rating instead of
        opening a new session. A file, a location... opens a session, as always.

        :return: whether it was taken as the comment
        """
        if inbound.media or inbound.contents or not inbound.text:
            return False
        # sudo: discuss.channel - the customer's last session, as the intake reads it
        last = (
            self.env["discuss.channel"]
            .sudo()
            .search(self._messenger_sessions_domain(inbound.chat_id), order="id desc", limit=1)
        )
        if not last.livechat_rating_comment_until or inbound.date > last.livechat_rating_comment_until:
            return False
        message = last._livechat_rating_comment(inbound.text)
        row.write({"session_id": last.id, "message_id": message.id if message else False})
        if message:
            last._livechat_post_notice(last._livechat_visitor_env()._("Thank you for your comment!"))
        return True
