import logging
import mimetypes
import secrets
from datetime import timedelta

import phonenumbers

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .. import messengers
from ..messengers import MessengerError, telegram, whatsapp
from ..messengers.common import base_mimetype, load_json

_logger = logging.getLogger(__name__)

ADMIN = "im_livechat.im_livechat_group_manager"
# a file a customer sends is refused past this size (bytes)
MAX_MEDIA_SIZE = 16 * 1024 * 1024
WEBHOOK_ROUTE = "/livechat_groups/messenger"


class LivechatMessenger(models.Model):
    """A WhatsApp or Telegram account connected to one external live chat: its customers'
    conversations become sessions of that live chat, routed through its groups."""

    _name = "livechat.messenger"
    _description = "Live Chat Messenger"
    _order = "livechat_channel_id, name, id"

    name = fields.Char(required=True)
    provider = fields.Selection(
        selection=[("whatsapp", "WhatsApp"), ("telegram", "Telegram")], required=True, default="whatsapp"
    )
    livechat_channel_id = fields.Many2one(
        comodel_name="im_livechat.channel",
        string="Live Chat",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("audience", "=", "external")],
        help="The customers who write to this account are routed through this live chat's groups.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(comodel_name="res.company", default=lambda self: self.env.company)
    api_base_url = fields.Char(
        string="API URL",
        compute="_compute_api_base_url",
        store=True,
        readonly=False,
        help="The provider's API root. Change it only to talk to a local stand-in "
        "(scripts/messenger_standin.py).",
    )
    access_token = fields.Char(
        groups=ADMIN, copy=False, help="WhatsApp: the permanent access token. Telegram: the bot token."
    )
    app_secret = fields.Char(
        groups=ADMIN, copy=False, help="WhatsApp: the app secret, with which Meta signs its webhooks."
    )
    verify_token = fields.Char(
        groups=ADMIN,
        copy=False,
        default=lambda self: secrets.token_urlsafe(16),
        help="WhatsApp: the verify token to paste in Meta's webhook settings.",
    )
    phone_number_id = fields.Char(
        string="Phone Number ID", help="WhatsApp: the id of the business phone number (not the number)."
    )
    webhook_secret = fields.Char(
        groups=ADMIN,
        copy=False,
        default=lambda self: secrets.token_urlsafe(24),
        help="Telegram: the secret token Telegram sends with every update.",
    )
    default_country_id = fields.Many2one(
        comodel_name="res.country",
        help="The country of the numbers written without a country code, when the live chat's "
        "company has none.",
    )
    webhook_token = fields.Char(
        groups=ADMIN, copy=False, readonly=True, default=lambda self: secrets.token_urlsafe(24)
    )
    webhook_url = fields.Char(
        string="Webhook URL",
        compute="_compute_webhook_url",
        groups=ADMIN,
        help="The address to give the provider (Meta's webhook settings, or Telegram's setWebhook).",
    )
    template_ids = fields.One2many(
        comodel_name="livechat.messenger.template", inverse_name="messenger_id", string="Templates"
    )
    session_count = fields.Integer(compute="_compute_session_count")

    _sql_constraints = [
        ("webhook_token_unique", "UNIQUE(webhook_token)", "Each messenger needs its own webhook address."),
    ]

    # ------------------------------------------------------------
    # Computes and constraints
    # ------------------------------------------------------------

    @api.depends("provider")
    def _compute_api_base_url(self):
        defaults = {"whatsapp": whatsapp.DEFAULT_API_BASE_URL, "telegram": telegram.DEFAULT_API_BASE_URL}
        for messenger in self:
            if not messenger.api_base_url or messenger.api_base_url in defaults.values():
                messenger.api_base_url = defaults.get(messenger.provider)

    @api.depends("webhook_token")
    def _compute_webhook_url(self):
        base_url = self.get_base_url()
        for messenger in self:
            messenger.webhook_url = f"{base_url}{WEBHOOK_ROUTE}/{messenger.webhook_token}"

    def _compute_session_count(self):
        counts = dict(
            self.env["discuss.channel"]
            .sudo()
            ._read_group([("livechat_messenger_id", "in", self.ids)], ["livechat_messenger_id"], ["__count"])
        )
        for messenger in self:
            messenger.session_count = counts.get(messenger._origin, 0)

    @api.constrains("livechat_channel_id")
    def _check_livechat_channel(self):
        for messenger in self:
            channel = messenger.livechat_channel_id
            if channel.audience != "external" or not channel.entry_group_ids:
                raise ValidationError(
                    self.env._(
                        "The messenger %(messenger)s needs an external live chat with entry groups: "
                        "its customers are routed to them, or wait in their queue. %(channel)s is not one.",
                        messenger=messenger.name,
                        channel=channel.name,
                    )
                )

    @api.constrains("provider")
    def _check_provider_of_templates(self):
        # the templates are WhatsApp's: an account that keeps some stays a WhatsApp account
        # (the template's own check covers the other side: a template given to a Telegram bot)
        # sudo: livechat.messenger.template - archived ones too, whoever changes the account
        Template = self.env["livechat.messenger.template"].sudo().with_context(active_test=False)
        for messenger in self.filtered(lambda messenger: messenger.provider != "whatsapp"):
            if Template.search_count([("messenger_id", "=", messenger.id)], limit=1):
                raise ValidationError(
                    self.env._(
                        "%(messenger)s has message templates, which only WhatsApp sends: delete "
                        "them (archived ones included) before you change its provider.",
                        messenger=messenger.name,
                    )
                )

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_test_connection(self):
        """Ask the provider who we are, and say what it answered. It uses the account's
        credentials (and registers Telegram's webhook): the administrators' own, as configuring."""
        self.ensure_one()
        self.check_access("write")
        # sudo: livechat.messenger - the administrator's own webhook address
        webhook_url = self.sudo().webhook_url
        if self.provider == "telegram" and not webhook_url.startswith("https://"):
            # Telegram posts only to HTTPS: setWebhook would refuse, or no update would come
            raise UserError(
                self.env._(
                    "Telegram delivers messages only to an HTTPS address, and this database's "
                    "address is %(url)s. Serve Odoo over HTTPS (behind a proxy with a certificate), "
                    "set the system parameter web.base.url to its https:// address, then test the "
                    "connection again.",
                    url=webhook_url.split(WEBHOOK_ROUTE, 1)[0],
                )
            )
        api = self._messenger_api()
        try:
            info = api.check()
            if self.provider == "telegram":
                # Telegram's webhook is registered through its API, with our secret token
                # sudo: livechat.messenger - the administrator's own secret, sent to Telegram
                api.set_webhook(webhook_url, self.sudo().webhook_secret)
        except MessengerError as error:
            raise UserError(
                self.env._(
                    "The connection failed: %(reason)s",
                    reason=self.with_context(livechat_messenger_testing=True)._messenger_failure_text(error),
                )
            ) from error
        who = info.get("display_phone_number") or info.get("username") or info.get("id")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "Connected to %(provider)s as %(who)s.", provider=self._messenger_provider_name(), who=who
                ),
            },
        }

    def action_view_sessions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "livechat_groups.discuss_channel_action_livechat_supervision"
        )
        action["domain"] = [("livechat_messenger_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------
    # Provider
    # ------------------------------------------------------------

    def _messenger_protocol(self):
        """The protocol module of this account's provider (:mod:`..messengers.whatsapp`...)."""
        return messengers.PROVIDERS[self.provider]

    def _messenger_api(self):
        """The client of the provider's API, with this account's credentials."""
        self.ensure_one()
        # sudo: livechat.messenger - the credentials are read by the system that sends
        account = self.sudo()
        if self.provider == "whatsapp":
            return whatsapp.WhatsAppApi(account.api_base_url, account.access_token, account.phone_number_id)
        return telegram.TelegramApi(account.api_base_url, account.access_token)

    def _messenger_check_request(self, raw_body, headers):
        """Whether a webhook POST comes from the provider (fail closed)."""
        keys = self._messenger_webhook_keys()
        return messengers.PROVIDERS[keys.provider].verify_signature(raw_body, headers, keys.secret)

    def _messenger_parse(self, raw_body):
        """What a signed webhook brings to this account: ``(messages, statuses)``.

        :raise messengers.common.Malformed: when any of it cannot be read (dropped whole)
        """
        keys = self._messenger_webhook_keys()
        payload = load_json(raw_body)
        if keys.provider == "whatsapp":
            return whatsapp.parse_webhook(payload, keys.phone_number_id)
        return telegram.parse_webhook(payload)

    def _messenger_failure_text(self, error):
        """What the operator reads when the provider refused: plain words, in their language."""
        texts = {
            "unreachable": self.env._("%(provider)s could not be reached; it will be tried again."),
            "rate_limited": self.env._(
                "%(provider)s asks us to send more slowly; it will be sent again in a few seconds."
            ),
            "window_closed": self.env._(
                "more than 24 hours have passed since the customer last wrote, so WhatsApp only "
                "delivers an approved template until they write again."
            ),
            "unknown_recipient": self.env._(
                "%(provider)s cannot deliver to this customer (not on %(provider)s, or they blocked us)."
            ),
            "unauthorized": self.env._(
                "%(provider)s refused our credentials: a Live Chat administrator must renew the "
                "access token of the messenger."
            ),
            "too_large": self.env._("the file is larger than %(max)s MB."),
            "unreadable": self.env._(
                "%(provider)s answered in a way we could not read; an administrator finds the "
                "details in the server log."
            ),
            "rejected": self.env._("%(provider)s refused it"),
        }
        if error.uncertain:
            texts["unreachable"] = self.env._(
                "%(provider)s did not answer in time: we wait for its word that the message arrived."
            )
        if self.env.context.get("livechat_messenger_testing"):
            # Test connection: nothing is tried again, the administrator acts
            texts["unreachable"] = self.env._(
                "%(provider)s could not be reached: check the API address and that this server "
                "reaches the internet, then test again."
            )
        text = texts.get(error.reason, texts["rejected"]) % {
            "provider": self._messenger_provider_name(),
            "max": MAX_MEDIA_SIZE // 2**20,
        }
        if error.reason == "rejected" and error.detail:
            text = f"{text}: {error.detail}"  # the provider's own words, as it wrote them
        elif error.reason == "unreadable":
            _logger.warning("livechat messenger %s: unreadable answer (%s)", self.id, error.detail)
        return text

    def _messenger_uncertain_text(self):
        """Why a message whose send was interrupted is not sent again by itself."""
        return self.env._(
            "the send was interrupted and %(provider)s never said whether it took the message, so "
            "it may not have reached the customer. It is not sent again by itself, lest the "
            "customer read it twice: ask them, or send it again.",
            provider=self._messenger_provider_name(),
        )

    def _messenger_provider_name(self):
        """The provider's name as people read it (WhatsApp, Telegram)."""
        return dict(self._fields["provider"]._description_selection(self.env)).get(self.provider, "")

    # ------------------------------------------------------------
    # Intake
    # ------------------------------------------------------------

    def _messenger_receive(self, messages, statuses):
        """Apply what a webhook brought: each message joins its customer's session (opened and
        routed when they have none); each status moves a sent message forward. A message seen
        before is skipped, and only it: the rest of the batch is applied."""
        self.ensure_one()
        Outbox = self.env["livechat.messenger.message"]
        for message in messages:
            self._messenger_receive_message(message)
        for status in statuses:
            if not Outbox._messenger_apply_status(self, status):
                self._messenger_wait_for_sends()

    def _messenger_wait_for_sends(self):
        """A status that moved nothing may be about a message whose send is not committed yet:
        the send job holds its ``sending`` row, with the provider's id, until its result
        commits, and the provider can answer "sent" before that. Wait for the sends under way
        of this account (a row no worker holds any more is not waited for);
        when one committed meanwhile, PostgreSQL refuses to serialize this transaction and Odoo
        runs the webhook again, which then sees the id. A status about no message of ours (a
        repeat, one already passed, another tool's) waits for nothing and is dropped."""
        # SQL: a row lock on the outbox rows being sent, which the ORM does not take
        self.env.execute_query(
            SQL(
                """
                SELECT id FROM livechat_messenger_message
                 WHERE messenger_id = %(messenger)s AND direction = 'out'
                   AND state IN ('queued', 'sending') AND external_id IS NULL
                   FOR SHARE
                """,
                messenger=self.id,
            )
        )

    def _messenger_receive_message(self, inbound):
        """:return: the ``livechat.messenger.message`` intake row, or None for a repeat"""
        row = self.env["livechat.messenger.message"]._messenger_claim_inbound(self, inbound.external_id)
        if not row:
            return None
        # a reaction, an edit, a deletion, a new number: applied where it belongs, no new
        # message (an edit of a message we never received is posted as one)
        if inbound.action != "post" and self._messenger_apply_action(inbound, row):
            return row
        chat = self.env["livechat.messenger.chat"]._messenger_lock(self, inbound.chat_id)
        session = self._messenger_open_session_of(inbound.chat_id)
        if not session and self._messenger_rating_comment(inbound, row):
            return row  # the comment of the rating just given (livechat_messenger_rating.py)
        started = not session
        if started:
            session = self._messenger_start_session(inbound, chat)
        attachments = self._messenger_fetch_media(session, inbound)
        message = session.with_context(livechat_messenger_inbound=True).message_post(
            author_id=session.livechat_messenger_partner_id.id,
            body=self._messenger_body(session, inbound),
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachment_ids=attachments.ids,
        )
        row.write({"session_id": session.id, "message_id": message.id, "provider_ref": inbound.ref or False})
        if started:
            # where they stand, below their first words (see livechat.routing._record_hop)
            session._livechat_post_first_notices()
        if (
            not session.livechat_messenger_last_inbound_date
            or inbound.date > session.livechat_messenger_last_inbound_date
        ):
            session.livechat_messenger_last_inbound_date = inbound.date
            session.livechat_messenger_window_notice = False
        return row

    def _messenger_sessions_domain(self, chat_id):
        """The sessions the intake made for the conversation ``chat_id``: routed live chat
        sessions, never another kind of channel that carries the fields (see
        ``discuss.channel._livechat_messenger_is_session``)."""
        return [
            ("channel_type", "=", "livechat"),
            ("livechat_routing_state", "!=", False),
            ("livechat_messenger_id", "=", self.id),
            ("livechat_messenger_chat_id", "=", chat_id),
        ]

    def _messenger_open_session_of(self, chat_id):
        # sudo: discuss.channel - the intake runs as the provider, who reads no session
        return (
            self.env["discuss.channel"]
            .sudo()
            .search(
                [*self._messenger_sessions_domain(chat_id), ("livechat_active", "=", True)],
                order="id desc",
                limit=1,
            )
        )

    def _messenger_start_session(self, inbound, chat):
        """A new conversation: find or create the customer, and route a session of the live
        chat to its entry groups, as a website visitor's (previous operator first)."""
        # sudo: discuss.channel - the customer's last session on this account: its operator first
        previous = (
            self.env["discuss.channel"]
            .sudo()
            .search(self._messenger_sessions_domain(inbound.chat_id), order="id desc", limit=1)
        )
        customer, ambiguous = chat.partner_id, self.env["res.partner"]
        if customer and not self._messenger_may_be_customer(customer):
            # a contact since given a user, or moved to another company: matched again
            customer = self.env["res.partner"]
        if not customer:
            customer, ambiguous = self._messenger_find_customer(inbound)
            chat.partner_id = customer
        name = customer.name or inbound.name or inbound.chat_id
        # sudo: im_livechat.channel - the routing reads the groups of the live chat
        channel = self.livechat_channel_id.sudo().with_context(lang=False)
        operator = self.env["livechat.routing"]._previous_operator(
            channel, customer, given=previous.livechat_operator_user_id
        )
        vals = channel._get_livechat_discuss_channel_vals(
            name,
            previous_operator_id=operator.partner_id.id if operator else None,
            country_id=customer.country_id.id or None,
            lang=customer.lang,
        )
        if not vals:
            # a live chat without entry groups refuses when nobody is online: the provider retries
            raise UserError(self.env._("Nobody can answer in %(channel)s right now.", channel=channel.name))
        vals["channel_member_ids"].append(Command.create({"partner_id": customer.id}))
        vals.update(
            anonymous_name=False,
            livechat_messenger_id=self.id,
            livechat_messenger_chat_id=inbound.chat_id,
            livechat_messenger_partner_id=customer.id,
        )
        # sudo: discuss.channel - the system opens the customer's session
        session = (
            self.env["discuss.channel"]
            .sudo()
            .with_context(mail_create_nosubscribe=False, livechat_groups_first_message_follows=True)
            .create(vals)
            .with_context(livechat_groups_first_message_follows=False)
        )
        session._broadcast(session.livechat_operator_id.ids)
        if ambiguous:
            session._livechat_post_operator_note(
                self.env._(
                    "%(count)s contacts have the number %(number)s: %(names)s. This conversation is "
                    "linked to the first one (the oldest contact).",
                    count=len(ambiguous),
                    number=inbound.phone,
                    names=", ".join(f"{partner.display_name} (#{partner.id})" for partner in ambiguous),
                )
            )
        return session

    # ------------------------------------------------------------
    # Customers
    # ------------------------------------------------------------

    def _messenger_region(self):
        """The region of numbers written without a country code: the messenger's country, else
        the live chat's company's."""
        country = self.default_country_id or self.company_id.country_id or self.env.company.country_id
        return country.code or None

    def _messenger_find_customer(self, inbound):
        """The contact this customer is, created when none matches.

        :return: ``(res.partner, res.partner)``: the customer, and every contact that matched
            when more than one did (the customer is the oldest of them)
        """
        # sudo: res.partner - the intake matches the customer among all contacts
        Partner = self.env["res.partner"].sudo()
        number = e164(inbound.phone, None) if inbound.phone else None
        matches = self._messenger_partners_with_number(number) if number else Partner
        if matches:
            return matches[0], matches if len(matches) > 1 else Partner
        # their language when the provider gives it (Telegram), else none: what they read is
        # then in the website's or the company's language, not in the webhook request's
        vals = {"name": inbound.name or number or inbound.chat_id, "lang": self._messenger_lang(inbound.lang)}
        if number:
            parsed = phonenumbers.parse(number)
            vals["phone"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            country_code = phonenumbers.region_code_for_number(parsed)
            vals["country_id"] = self.env["res.country"].search([("code", "=", country_code)], limit=1).id
        return Partner.create(vals), Partner

    def _messenger_lang(self, tag):
        """The installed language of the IETF ``tag`` a provider gives (``fr``, ``pt-BR``), if any.

        :return: a language code, or False
        """
        if not tag:
            return False
        installed = [code for code, _name in self.env["res.lang"].get_installed()]
        code = tag.replace("-", "_")
        if code in installed:
            return code
        base = code.split("_")[0].lower()
        # the language's main variant first (fr_FR for "fr"), else any of its variants
        return next(
            (c for c in installed if c.lower() == f"{base}_{base}"),
            next((c for c in installed if c.split("_")[0] == base), False),
        )

    def _messenger_partners_with_number(self, number):
        """The contacts whose phone or mobile is ``number`` (E.164), whatever the format they
        were stored in: a first cut in SQL on the last digits, then each candidate parsed with
        its own country (else the messenger's) as default region.

        :return: ``res.partner`` sorted by id
        """
        national = str(phonenumbers.parse(number).national_number)
        # SQL a first cut only: who may be the customer is decided below, by the ORM
        suffix = "%" + national[-7:]
        # SQL: the ORM cannot compare the digits of numbers stored with spaces and dashes
        rows = self.env.execute_query(
            SQL(
                """
                SELECT p.id, p.phone, p.mobile, c.code
                  FROM res_partner p
             LEFT JOIN res_country c ON c.id = p.country_id
                 WHERE p.active
                   AND (regexp_replace(COALESCE(p.phone, ''), '[^0-9]', '', 'g') LIKE %(suffix)s
                        OR regexp_replace(COALESCE(p.mobile, ''), '[^0-9]', '', 'g') LIKE %(suffix)s)
              ORDER BY p.id
                """,
                suffix=suffix,
            )
        )
        region = self._messenger_region()
        ids = [
            partner_id
            for partner_id, phone, mobile, country_code in rows
            if number in (e164(phone, country_code or region), e164(mobile, country_code or region))
        ]
        # sudo: res.partner - see _messenger_find_customer
        partners = self.env["res.partner"].sudo().search([("id", "in", ids)], order="id")
        return partners.filtered(self._messenger_may_be_customer)

    def _messenger_may_be_customer(self, partner):
        """Whether ``partner`` may be the customer of this account's conversations: a contact
        its company may see (its own, or shared), and not an employee. An internal user's
        contact would be a staff member of the session: Discuss would hand them its internal
        notes and count them among its operators. Their number writing in is a customer like
        any other, with a contact of their own."""
        company = self.company_id
        if partner.company_id and not (company and partner.company_id in company.parent_ids):
            return False
        # sudo: res.users - whether the contact is an employee's, whoever receives
        users = partner.sudo().with_context(active_test=False).user_ids
        return not users.filtered(lambda user: not user.share)

    # ------------------------------------------------------------
    # Media
    # ------------------------------------------------------------

    def _messenger_fetch_media(self, session, inbound):
        """Download the customer's files as attachments of their message; a file refused (too
        large, gone) is said in the conversation instead."""
        Attachment = self.env["ir.attachment"].sudo()
        attachments = Attachment
        api = self._messenger_api() if inbound.media else None
        for media in inbound.media:
            try:
                if media.size and media.size > MAX_MEDIA_SIZE:
                    raise MessengerError("too_large")
                if self.provider == "whatsapp":
                    content, mimetype = api.download_media(media.ref, MAX_MEDIA_SIZE)
                else:
                    content, mimetype = api.download_file(media.ref, MAX_MEDIA_SIZE)
            except MessengerError as error:
                # the customer reads it too: in their language
                customer_env = session._livechat_visitor_env()
                session._livechat_post_notice(
                    customer_env._(
                        "A file the customer sent (%(kind)s) could not be received: %(reason)s",
                        kind=media.kind,
                        reason=self.with_env(customer_env)._messenger_failure_text(error),
                    )
                )
                continue
            # parameters (``audio/ogg; codecs=opus``) say how to play it, not what it is
            mimetype = base_mimetype(media.mimetype or mimetype) or "application/octet-stream"
            # pending, as the composer's: message_post links it to the session's message
            # sudo: ir.attachment - the customer's file, received by the system
            attachments |= Attachment.create(
                {
                    "name": media.filename or f"{media.kind}{file_extension(mimetype)}",
                    "raw": content,
                    "mimetype": mimetype,
                    "res_model": "mail.compose.message",
                    "res_id": 0,
                }
            )
        return attachments

    # ------------------------------------------------------------
    # The 24-hour rule
    # ------------------------------------------------------------

    def _messenger_window_end(self, session):
        """When the customer service window of ``session`` closes (WhatsApp), or None when the
        provider has no such rule."""
        if self.provider != "whatsapp" or not session.livechat_messenger_last_inbound_date:
            return None
        return session.livechat_messenger_last_inbound_date + timedelta(hours=whatsapp.WINDOW_HOURS)


# the extension a file of this type is saved with, where Python's guess is not the usual one
EXTENSIONS = {"audio/ogg": ".ogg", "audio/opus": ".opus", "audio/amr": ".amr", "video/3gpp": ".3gp"}


def file_extension(mimetype):
    """The extension of a file of ``mimetype`` (without parameters), with its dot; empty
    when unknown."""
    return EXTENSIONS.get(mimetype) or mimetypes.guess_extension(mimetype) or ""


def e164(number, region):
    """``number`` in E.164 (``+16505551234``), read with ``region`` as its default country;
    ``00`` is taken as the international prefix it is in most of the world. None when it is
    not a valid number.
    """
    if not number:
        return None
    number = number.strip()
    if number.startswith("00"):
        number = "+" + number[2:]
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
