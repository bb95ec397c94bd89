from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError

from odoo.addons.base.models.ir_qweb_fields import nl2br

from ..messengers.common import RATING_VALUES, rating_button_id

# what only the rating's own code writes on a session
RATING_FIELDS = {"livechat_rating_asked_date", "livechat_rating_comment_until"}
# how long after a tap on a rating button the customer's next message is their comment
COMMENT_WINDOW = timedelta(hours=1)


class DiscussChannel(models.Model):
    """The end-of-session rating of messenger customers: when their session closes, they are
    asked once, in their language, with the provider's own buttons; their answer becomes the
    session's stock ``rating.rating``, as the website widget's does (im_livechat's
    ``/im_livechat/feedback``), and their next message may add a comment to it."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_rating_asked_date = fields.Datetime(
        string="Rating Asked On",
        readonly=True,
        copy=False,
        help="When the messenger customer was asked to rate the session (they are asked once).",
    )
    livechat_rating_comment_until = fields.Datetime(
        string="Rating Comment Until",
        readonly=True,
        copy=False,
        help="The customer tapped a rating button: their next message until then is its comment.",
    )

    # ------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and RATING_FIELDS & self._livechat_given_fields(vals_list):
            raise AccessError(self._livechat_rating_fields_refusal())
        return super().create(vals_list)

    def write(self, vals):
        # an operator who wrote these would stop the question, or turn a message into a comment
        if not self.env.su and RATING_FIELDS & vals.keys():
            raise AccessError(self._livechat_rating_fields_refusal())
        return super().write(vals)

    def _livechat_rating_fields_refusal(self):
        return self.env._("Only the messenger customer's answers change the rating of a session.")

    # ------------------------------------------------------------
    # The question
    # ------------------------------------------------------------

    def _livechat_rating_should_ask(self):
        """Whether this session, just closed, asks its customer for a rating: a messenger
        session (never the website's, whose widget asks, nor an employee's) that an operator
        held, of a live chat that asks, not asked before, and within WhatsApp's 24-hour window
        (outside it, WhatsApp delivers only templates)."""
        self.ensure_one()
        # sudo: discuss.channel - whether to ask is decided by the system, whoever closed
        session = self.sudo()
        messenger = session.livechat_messenger_id
        if (
            not session._livechat_messenger_is_session()
            or session.livechat_active
            or session.livechat_rating_asked_date
            or not session.livechat_channel_id.livechat_messenger_rating
            or not messenger.active
            or session.rating_ids
            # nothing was ever said with the customer: there is nothing to rate
            or not session.livechat_messenger_last_inbound_date
            # nobody ever answered them (closed while waiting): no operator to rate
            or not session.livechat_transfer_ids.filtered("to_user_id")
        ):
            return False
        window_end = messenger._messenger_window_end(session)
        return not (window_end and fields.Datetime.now() >= window_end)

    def _livechat_rating_ask(self):
        """Ask the customer of this closed messenger session to rate it (see
        :meth:`_livechat_rating_should_ask`): one message, in their language, sent with the
        provider's buttons (``livechat.messenger.message._messenger_call``), shown to the
        operators in the session as the customer reads it."""
        if not self._livechat_rating_should_ask():
            return
        # sudo: discuss.channel - the system asks, whoever closed the session
        session = self.sudo()
        session.livechat_rating_asked_date = fields.Datetime.now()
        visitor_env = session._livechat_visitor_env()
        body = visitor_env._(
            "How was your conversation with us? Tap a button; you may add a comment in your next message."
        )
        message = session._livechat_post_notice(body)
        # sudo: livechat.messenger.message - the outbox rows of the question carry its buttons
        rows = self.env["livechat.messenger.message"].sudo().search([("message_id", "=", message.id)])
        rows.write({"rating_question": True})

    def _livechat_rating_buttons(self):
        """The rating question's buttons, in the customer's language: ``[(id, title)]``, best
        first (a title fits WhatsApp's 20 characters)."""
        visitor_env = self._livechat_visitor_env()
        titles = {5: visitor_env._("😊 Good"), 3: visitor_env._("😐 OK"), 1: visitor_env._("😞 Bad")}
        return [(rating_button_id(self.id, value), titles[value]) for value in RATING_VALUES]

    # ------------------------------------------------------------
    # The answer
    # ------------------------------------------------------------

    def _livechat_rating_accepts(self, messenger, chat_id):
        """Whether this session takes a rating from the customer ``chat_id`` of ``messenger``:
        it is theirs, it asked, it has no rating yet, and it is their last session (a tap on
        an earlier question, after a new session started, changes nothing)."""
        self.ensure_one()
        if not (
            self.exists()
            and self.livechat_messenger_id == messenger
            and self.livechat_messenger_chat_id == chat_id
            and self.livechat_rating_asked_date
            and not self.livechat_active
            and not self.rating_ids
        ):
            return False
        # sudo: discuss.channel - the customer's sessions on this account, as the intake reads them
        last = self.sudo().search(messenger._messenger_sessions_domain(chat_id), order="id desc", limit=1)
        return last == self

    def _livechat_rating_apply(self, value):
        """The customer's answer becomes the session's rating, as the website widget's does
        (``/im_livechat/feedback``): rated partner the operator, partner the customer,
        consumed; and its message in the session. Their next message within
        :data:`COMMENT_WINDOW` will be its comment.

        :return: the ``rating.rating``
        """
        self.ensure_one()
        # sudo: rating.rating - the customer rates through the provider, not as a user
        rating = (
            self.env["rating.rating"]
            .sudo()
            .create(
                {
                    "rating": value,
                    "consumed": True,
                    "is_internal": False,
                    "res_model_id": self.env["ir.model"]._get_id("discuss.channel"),
                    "res_id": self.id,
                    "partner_id": self.livechat_messenger_partner_id.id,
                    "rated_partner_id": self.livechat_operator_id.id,
                }
            )
        )
        self.livechat_rating_comment_until = fields.Datetime.now() + COMMENT_WINDOW
        self._livechat_rating_post(rating)
        return rating

    def _livechat_rating_comment(self, comment):
        """The customer's message after their tap: the comment of the session's rating.

        :return: the message that shows it in the session, or None when the rating has one already
        """
        self.ensure_one()
        rating = self.rating_ids[:1]
        self.livechat_rating_comment_until = False
        if not rating or rating.feedback:
            return None
        rating.feedback = comment
        return self._livechat_rating_post(rating, comment)

    def _livechat_rating_post(self, rating, comment=None):
        """Show the rating in the session, as the website widget's (im_livechat's
        ``_post_feedback_message``), by the customer; it is not sent back to them.

        :return: the ``mail.message``
        """
        visitor_env = self._livechat_visitor_env()
        body = Markup(
            '<div class="o_mail_notification o_hide_author">%(label)s: '
            '<img class="o_livechat_emoji_rating" src="%(url)s" alt="rating"/>%(comment)s</div>'
        ) % {
            "label": visitor_env._("Rating"),
            "url": rating.rating_image_url,
            "comment": nl2br("\n" + comment) if comment else "",
        }
        return self.message_post(
            author_id=self.livechat_messenger_partner_id.id,
            body=body,
            message_type="notification",
            rating_id=rating.id,
            subtype_xmlid="mail.mt_comment",
        )
