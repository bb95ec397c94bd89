import json
import logging

import phonenumbers
from markupsafe import Markup, escape

from odoo import fields, models

from .livechat_messenger import e164

_logger = logging.getLogger(__name__)

# where a shared location opens: a map anyone can read, with no account and no tracking key
MAP_URL = "https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


class LivechatMessenger(models.Model):
    """What a messenger customer sends beyond text, as the operator reads it: contact cards,
    places, polls, forms, in the operator's language; and what they do to their earlier
    messages (react, edit, delete) or to themselves (a new number, a new identity), applied
    where Discuss shows it rather than posted as new messages."""

    _inherit = "livechat.messenger"

    # ------------------------------------------------------------
    # What the operator reads
    # ------------------------------------------------------------

    def _messenger_staff_env(self, session):
        """An environment in the language of who answers ``session``: its operator, else
        (while it waits) the account's company's."""
        operator = session._livechat_operator_user()
        # sudo: res.company - the company's language, whoever received the webhook
        lang = operator.lang or self.sudo().company_id.partner_id.lang or self.env.lang
        return self.with_context(lang=lang).env

    def _messenger_body(self, session, inbound):
        """The body of the customer's message: their text, then each content rendered.

        :return: a ``str`` (plain text, escaped by ``message_post``) or ``Markup``
        """
        if not inbound.contents:
            return inbound.text
        env = self._messenger_staff_env(session)
        blocks = [escape(inbound.text)] if inbound.text else []
        blocks += [self._messenger_render_content(env, content) for content in inbound.contents]
        return Markup("<br/>").join(blocks)

    def _messenger_render_content(self, env, content):
        """One :class:`~..messengers.common.InboundContent` as HTML, in ``env``'s language."""
        data = content.data
        if content.kind == "contact":
            lines = [env._("Contact: %(name)s", name=data["name"] or "?")]
            lines += [f"{number} ({label.lower()})" if label else number for number, label in data["phones"]]
            lines += data.get("emails") or []
            return self._messenger_lines(lines)
        if content.kind == "location":
            url = MAP_URL.format(lat=data["latitude"], lon=data["longitude"])
            place = ", ".join(filter(None, (data["name"], data["address"])))
            title = env._("Location: %(place)s", place=place) if place else env._("Location")
            return Markup('%s<br/><a href="%s" target="_blank" rel="noreferrer noopener">%s</a>') % (
                title,
                url,
                env._(
                    "Open the map (%(latitude)s, %(longitude)s)",
                    latitude=data["latitude"],
                    longitude=data["longitude"],
                ),
            )
        if content.kind == "poll":
            lines = [env._("Poll: %(question)s", question=data["question"])]
            lines += [f"• {option}" for option in data["options"]]
            return self._messenger_lines(lines)
        if content.kind == "dice":
            return escape(env._("Rolled %(emoji)s: %(value)s", emoji=data["emoji"], value=data["value"]))
        if content.kind == "form":
            lines = [
                env._("Form answers (%(name)s):", name=data["name"])
                if data["name"]
                else env._("Form answers:")
            ]
            for question, answer in data["answers"].items():
                if not isinstance(answer, str):
                    answer = json.dumps(answer, ensure_ascii=False)
                lines.append(f"{question.replace('_', ' ')}: {answer}" if question else answer)
            return self._messenger_lines(lines)
        if content.kind == "call_permission":
            if data["response"] == "accept":
                if data["until"]:
                    return escape(
                        env._(
                            "Allowed us to call them until %(date)s (UTC).",
                            date=fields.Datetime.to_string(data["until"])[:16],
                        )
                    )
                return escape(env._("Allowed us to call them."))
            return escape(env._("Refused to be called by us."))
        if content.kind == "order":
            lines = [env._("Order:")]
            for product, quantity, price, currency in data["items"]:
                quantity = int(quantity) if quantity == int(quantity) else quantity
                lines.append(
                    env._(
                        "%(quantity)s × %(product)s at %(price)s %(currency)s",
                        quantity=quantity,
                        product=product,
                        price=price if price is not None else "?",
                        currency=currency,
                    )
                )
            if data["text"]:
                lines.append(data["text"])
            return self._messenger_lines(lines)
        # "unsupported": said so, rather than an empty message
        provider = dict(self._fields["provider"]._description_selection(env)).get(self.provider, "")
        if data.get("what"):
            return escape(
                env._(
                    "Sent a message that %(provider)s does not pass on to businesses (%(what)s).",
                    provider=provider,
                    what=data["what"],
                )
            )
        return escape(
            env._("Sent a message that %(provider)s does not pass on to businesses.", provider=provider)
        )

    def _messenger_lines(self, lines):
        return Markup("<br/>").join(escape(line) for line in lines)

    # ------------------------------------------------------------
    # What the customer does to their messages and to themselves
    # ------------------------------------------------------------

    def _messenger_apply_action(self, inbound, row):
        """Apply an inbound event that is not a new message (see ``messengers.common.ACTIONS``).

        :return: whether it was applied; when it was not (an edit of a message we never
            received), the caller posts it as a message
        """
        handler = {
            "react": self._messenger_react,
            "edit": self._messenger_edit,
            "revoke": self._messenger_revoke,
            "number_changed": self._messenger_number_changed,
            "identity_changed": self._messenger_identity_changed,
            "rate": self._messenger_rate,  # livechat_messenger_rating.py
        }[inbound.action]
        return handler(inbound, row)

    def _messenger_find_message(self, chat_id, ref, directions=("in", "out")):
        """The ``mail.message`` of the conversation ``chat_id`` that the provider calls ``ref``:
        a message the customer sent (``in``), or one sent to them (``out``).

        :return: ``(mail.message, discuss.channel)``, both empty when it is not one of ours
        """
        # sudo: livechat.messenger.message - the intake reads its own log, as the provider
        Outbox = self.env["livechat.messenger.message"].sudo()
        by_direction = {
            "in": [("direction", "=", "in"), ("provider_ref", "=", ref)],
            "out": [("direction", "=", "out"), ("external_id", "=", ref)],
        }
        for direction in directions:
            rows = Outbox.search(
                [("messenger_id", "=", self.id), ("message_id", "!=", False), *by_direction[direction]],
                order="id desc",
            )
            # Telegram's message ids count per chat: the row must be of this conversation
            rows = rows.filtered(lambda row: row.session_id.livechat_messenger_chat_id == chat_id)
            if rows:
                return rows[0].message_id, rows[0].session_id
        # sudo: mail.message, discuss.channel - empty, as the intake's finds are
        return self.env["mail.message"].sudo(), self.env["discuss.channel"].sudo()

    def _messenger_react(self, inbound, row):
        """The customer's reaction, shown as Discuss shows reactions: by their contact, on the
        message they reacted to. WhatsApp keeps one reaction per person and message: a new
        one replaces theirs, an empty one takes it back."""
        message, session = self._messenger_find_message(inbound.chat_id, inbound.target)
        if not message:
            _logger.info("livechat messenger %s: a reaction to an unknown message, ignored", self.id)
            return True
        customer = session.livechat_messenger_partner_id
        no_guest = self.env["mail.guest"]
        # sudo: mail.message.reaction - the customer's own reactions on this message
        previous = (
            self.env["mail.message.reaction"]
            .sudo()
            .search([("message_id", "=", message.id), ("partner_id", "=", customer.id)])
        )
        for content in set(previous.mapped("content")) - {inbound.emoji}:
            message._message_reaction(content, "remove", customer, no_guest)
        if inbound.emoji:
            message._message_reaction(inbound.emoji, "add", customer, no_guest)
        row.write({"session_id": session.id})
        return True

    def _messenger_edit(self, inbound, row):
        """The customer edited a message: its body says the new text, marked "(edited)" as
        Discuss marks an operator's edit. Only their own messages: the intake log knows them."""
        message, session = self._messenger_find_message(inbound.chat_id, inbound.target, directions=("in",))
        if not message:
            return False
        body = self._messenger_body(session, inbound)
        session._message_update_content(message, escape(body))
        row.write({"session_id": session.id})
        return True

    def _messenger_revoke(self, inbound, row):
        """The customer deleted a message for everyone: its text and files go, and it says
        so where it was."""
        message, session = self._messenger_find_message(inbound.chat_id, inbound.target, directions=("in",))
        if not message:
            return True
        env = self._messenger_staff_env(session)
        message.attachment_ids._delete_and_notify()
        message.write(
            {"body": Markup('<p class="fst-italic text-muted">%s</p>') % env._("Deleted by the customer.")}
        )
        message._bus_send_store(
            message, {"attachment_ids": [], "body": message.body, "write_date": message.write_date}
        )
        row.write({"session_id": session.id})
        return True

    def _messenger_number_changed(self, inbound, row):
        """The customer moved to a new number: their conversation follows them (the sessions
        and the intake's lock carry the new id), their contact's number is updated, and the
        operators of their open session are told."""
        old, new = inbound.chat_id, inbound.new_chat_id
        # sudo: livechat.messenger.chat - the intake's lock of the conversation moves with it
        Chat = self.env["livechat.messenger.chat"].sudo()
        chat = Chat._messenger_lock(self, old)
        customer = chat.partner_id
        # sudo: discuss.channel - the intake moves the customer's sessions to their new id
        sessions = self.env["discuss.channel"].sudo().search(self._messenger_sessions_domain(old))
        open_session = sessions.filtered("livechat_active")[:1]
        sessions.write({"livechat_messenger_chat_id": new})
        new_chat = Chat.search([("messenger_id", "=", self.id), ("chat_id", "=", new)])
        if new_chat:
            new_chat.partner_id = new_chat.partner_id or customer
        else:
            chat.chat_id = new
        old_number, new_number = "+" + old, "+" + new
        if customer:
            self._messenger_update_number(customer, old_number, new_number)
        if open_session:
            env = self._messenger_staff_env(open_session)
            self._messenger_post_staff_note(
                open_session,
                env._(
                    "The customer changed their WhatsApp number from %(old)s to %(new)s: their "
                    "conversation and their contact follow the new number.",
                    old=self._messenger_format_number(old_number),
                    new=self._messenger_format_number(new_number),
                ),
            )
            row.write({"session_id": open_session.id})
        return True

    def _messenger_update_number(self, partner, old_number, new_number):
        """Put ``new_number`` in place of ``old_number`` on the contact (its phone or its
        mobile, whichever held it; its phone when neither did)."""
        region = partner.country_id.code or self._messenger_region()
        formatted = self._messenger_format_number(new_number)
        # sudo: res.partner - the intake keeps the customer's number current
        partner = partner.sudo()
        for field_name in ("phone", "mobile"):
            if e164(partner[field_name], region) == old_number:
                partner[field_name] = formatted
                return
        if not partner.phone:
            partner.phone = formatted

    def _messenger_format_number(self, number):
        try:
            parsed = phonenumbers.parse(number)
        except phonenumbers.NumberParseException:
            return number
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def _messenger_identity_changed(self, inbound, row):
        """WhatsApp says the customer's identity changed (a new phone, WhatsApp installed again):
        the operators of their open session are told to make sure it is still them."""
        session = self._messenger_open_session_of(inbound.chat_id)
        if session:
            env = self._messenger_staff_env(session)
            self._messenger_post_staff_note(
                session,
                env._(
                    "WhatsApp says the customer's identity changed (a new phone, or WhatsApp "
                    "installed again): make sure you still talk to the same person before you "
                    "share anything personal."
                ),
            )
            row.write({"session_id": session.id})
        return True

    def _messenger_post_staff_note(self, session, text):
        """An internal note by OdooBot, for the session's operators only."""
        return session.message_post(
            author_id=self.env.ref("base.partner_root").id,
            body=Markup("<p>%s</p>") % text,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
