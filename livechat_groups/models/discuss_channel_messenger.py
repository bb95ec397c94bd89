from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..messengers import whatsapp

# what only the intake writes on a messenger session
MESSENGER_FIELDS = {
    "livechat_messenger_id",
    "livechat_messenger_chat_id",
    "livechat_messenger_partner_id",
    "livechat_messenger_last_inbound_date",
    "livechat_messenger_window_notice",
}


class DiscussChannel(models.Model):
    """Sessions of customers who write from a messenger: what they wrote comes in through
    the webhook (see ``livechat.messenger``); what is posted for them goes out through the
    outbox (``livechat.messenger.message``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_messenger_id = fields.Many2one(
        comodel_name="livechat.messenger",
        string="Messenger",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The WhatsApp or Telegram account the customer writes from; empty for the website.",
    )
    livechat_messenger_chat_id = fields.Char(
        string="Messenger Chat",
        readonly=True,
        copy=False,
        help="The customer's WhatsApp id (wa_id) or Telegram chat id.",
    )
    livechat_messenger_partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The contact who writes from the messenger.",
    )
    livechat_messenger_last_inbound_date = fields.Datetime(
        string="Customer Last Wrote",
        readonly=True,
        help="WhatsApp's timestamp of the customer's last message: the 24-hour window runs from it.",
    )
    livechat_messenger_window_notice = fields.Boolean(readonly=True)
    livechat_medium = fields.Selection(
        selection=[("website", "Website"), ("whatsapp", "WhatsApp"), ("telegram", "Telegram")],
        string="Medium",
        compute="_compute_livechat_medium",
        store=True,
        help="Where the customer writes from.",
    )
    livechat_customer_number = fields.Char(
        string="Customer Number",
        compute="_compute_livechat_customer_number",
        help="The customer's phone number (WhatsApp) or chat id (Telegram).",
    )

    @api.depends("livechat_messenger_id.provider", "channel_type")
    def _compute_livechat_medium(self):
        for session in self:
            if session.channel_type != "livechat":
                session.livechat_medium = False
            else:
                session.livechat_medium = session.livechat_messenger_id.provider or "website"

    @api.depends("livechat_messenger_partner_id", "livechat_messenger_chat_id")
    def _compute_livechat_customer_number(self):
        for session in self:
            partner = session.livechat_messenger_partner_id
            session.livechat_customer_number = (
                (partner.phone or partner.mobile or session.livechat_messenger_chat_id)
                if session.livechat_messenger_id
                else False
            )

    # ------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # only the intake makes a messenger conversation: a channel created with these fields
        # would receive a customer's messages and send from the company's account
        if not self.env.su and MESSENGER_FIELDS & self._livechat_given_fields(vals_list):
            raise AccessError(self._livechat_messenger_fields_refusal())
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and MESSENGER_FIELDS & vals.keys():
            raise AccessError(self._livechat_messenger_fields_refusal())
        return super().write(vals)

    def _livechat_messenger_fields_refusal(self):
        return self.env._("Only the messenger's intake links a session to a messenger customer.")

    def _notify_thread(self, message, msg_vals=False, **kwargs):
        # queued before the message is notified, so that Discuss receives it with its state
        if self._livechat_messenger_is_session() and not self.env.context.get("livechat_messenger_inbound"):
            self._livechat_messenger_queue(message)
        return super()._notify_thread(message, msg_vals=msg_vals, **kwargs)

    def _livechat_messenger_is_session(self):
        """Whether this channel is a session the intake made: a routed live chat session. Any other channel that carries the fields (made before they were
        guarded on creation) neither sends from the account nor receives its customers."""
        self.ensure_one()
        # sudo: discuss.channel, livechat.messenger - what kind of conversation this is, whoever posts
        session = self.sudo()
        messenger = session.livechat_messenger_id
        return bool(messenger and session.channel_type == "livechat" and session.livechat_routing_state)

    def _livechat_messenger_queue(self, message):
        """Send ``message`` to the customer, unless it is not for them: an internal note, their
        own message, or a notification other than the routing's notices."""
        if message._livechat_is_staff_note() or message.author_id == self.livechat_messenger_partner_id:
            return
        if message.message_type != "comment" and not (
            message.message_type == "notification" and self.env.context.get("livechat_groups_routing_notice")
        ):
            return
        template = self.env.context.get("livechat_messenger_template")
        self.env["livechat.messenger.message"]._messenger_queue(self, message, template=template)

    # ------------------------------------------------------------
    # The 24-hour rule
    # ------------------------------------------------------------

    def action_livechat_messenger_send_template(self, template_id):
        """Who is in the session (its operator, a supervisor who joined) sends an approved
        template, the only message WhatsApp delivers once the 24-hour window closed."""
        self.ensure_one()
        self._livechat_check_known()
        session = self.sudo()  # sudo: discuss.channel - the checks below decide
        session._livechat_check_open()
        # answering means taking: only who is in the conversation writes in it (a supervisor joins first)
        self._livechat_check_answer_access()
        template = (
            self.env["livechat.messenger.template"]
            .sudo()
            .with_context(
                active_test=True
            )  # an archived template is not to be sent, whatever the caller says
            .search(
                [
                    ("id", "=", self._livechat_id(template_id)),
                    ("messenger_id", "=", session.livechat_messenger_id.id),
                ]
            )
        )
        if not template:
            raise UserError(self.env._("This template is not one of the messenger of this session."))
        author = self.env.user.partner_id
        return (
            session.with_context(livechat_messenger_template=template)
            .message_post(
                author_id=author.id,
                body=template.body,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
            .id
        )

    @api.model
    def _livechat_messenger_announce_closed_windows(self):
        """Tell the operators of WhatsApp sessions whose 24-hour window just closed, before they
        write in vain."""
        limit = fields.Datetime.now() - timedelta(hours=whatsapp.WINDOW_HOURS)
        # sudo: discuss.channel - the system watches every messenger session
        sessions = self.sudo().search(
            [
                ("livechat_messenger_id.provider", "=", "whatsapp"),
                ("livechat_active", "=", True),
                ("livechat_messenger_window_notice", "=", False),
                ("livechat_messenger_last_inbound_date", "<", limit),
            ]
        )
        Routing = self.env["livechat.routing"]
        for session in sessions:
            # one session whose note fails is logged and skipped; the others are told, and the
            # send job goes on to the outbox
            Routing._in_savepoint(session, self._livechat_messenger_tell_window_closed, skip_conflicts=True)
        # once, even for a session whose note failed: the job runs every minute
        sessions.livechat_messenger_window_notice = True

    @api.model
    def _livechat_messenger_tell_window_closed(self, session):
        session._livechat_messenger_post_window_note()

    def _livechat_messenger_post_window_note(self):
        closed_at = self.livechat_messenger_id._messenger_window_end(self)
        body = Markup("<p>%s</p>") % self.env._(
            "WhatsApp's 24-hour window closed at %(date)s (UTC): the customer has not written "
            "for 24 hours, so WhatsApp refuses free-form messages until they write again. "
            "Send one of the messenger's approved templates to reach them.",
            date=fields.Datetime.to_string(closed_at)[:16],
        )
        self.message_post(
            author_id=self.env.ref("base.partner_root").id,
            body=body,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

    def _to_store(self, store):
        res = super()._to_store(store)
        for session in self.filtered("livechat_messenger_id"):
            window_end = session.livechat_messenger_id._messenger_window_end(session)
            store.add(
                session,
                {
                    "livechatMedium": session.livechat_medium,
                    "livechatCustomerNumber": session.livechat_customer_number,
                    "livechatMessengerWindowEnd": fields.Datetime.to_string(window_end)
                    if window_end
                    else False,
                },
            )
        return res
