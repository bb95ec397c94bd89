"""WhatsApp Business Cloud API (Meta Graph API): the subset a live chat needs.

Webhook: a GET handshake, then signed POSTs (``X-Hub-Signature-256``: HMAC-SHA256 of the raw
body with the app secret) carrying messages and delivery statuses. Sending: ``POST
/{phone-number-id}/messages`` with a Bearer token; media by id (uploaded first, downloaded in
two steps).
"""

import hashlib
import hmac
import json

from .common import (
    MAX_ID_LENGTH,
    InboundContent,
    InboundMedia,
    InboundMessage,
    Malformed,
    MessengerError,
    StatusUpdate,
    http_call,
    identifier,
    items,
    mapping,
    number,
    read_limited,
    read_rating_button,
    text,
    utc16_fit,
    utc_from_timestamp,
)

DEFAULT_API_BASE_URL = "https://graph.facebook.com/v21.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
# the customer service window: free-form messages only this long after the customer wrote
WINDOW_HOURS = 24
ERROR_WINDOW_CLOSED = 131047
# Graph API error codes worth a retry: throttling, temporary errors of the service
TRANSIENT_CODES = {1, 2, 4, 17, 341, 80007, 131000, 131016, 133004}
# the sending limits, and how long to wait before the next try (seconds): 130429, the number's
# throughput (80 messages a second by default) is reached; 131056, the pair rate limit: about
# one message every 6 seconds to one customer (bursts borrowed, then paid back)
RATE_LIMIT_DELAYS = {130429: 2, 131056: 6}
UNKNOWN_RECIPIENT_CODES = {131026, 131030, 131021}
UNAUTHORIZED_CODES = {0, 10, 190, 200, 131005}
STATUSES = ("sent", "delivered", "read", "failed")
# the longest body of a text message (characters)
TEXT_LIMIT = 4096
# interactive reply buttons: at most 3, titles of at most 20 characters, a body of at most 1,024
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_BODY_LIMIT = 1024


# ------------------------------------------------------------
# Webhook
# ------------------------------------------------------------


def check_handshake(params, verify_token):
    """Meta's subscription check: the challenge to answer when mode and token match, else None."""
    token = params.get("hub.verify_token") or ""
    if (
        params.get("hub.mode") == "subscribe"
        and verify_token
        and hmac.compare_digest(token.encode(), verify_token.encode())
    ):
        return params.get("hub.challenge") or ""
    return None


def verify_signature(raw_body, headers, app_secret):
    """Whether ``raw_body`` (the request's bytes, as received) was signed with ``app_secret``.
    Fails closed: no secret, no header or another scheme is a refusal."""
    header = headers.get(SIGNATURE_HEADER) or ""
    if not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[len("sha256=") :].strip().encode())


def parse_webhook(payload, phone_number_id):
    """The messages and statuses of a webhook's JSON payload for the phone number
    ``phone_number_id``, in their order. Meta signs every account of an app with the same
    secret: an entry for another number is not this account's, and is left out.

    :raise Malformed: when the payload is not a WhatsApp Business Account notification, or
        any part of it cannot be read (the whole payload is then dropped)
    :return: ``(list of InboundMessage, list of StatusUpdate)``
    """
    payload = mapping(payload, "the notification", required=True)
    if payload.get("object") != "whatsapp_business_account":
        raise Malformed("not a WhatsApp Business Account notification")
    messages, statuses = [], []
    for entry in items(payload.get("entry"), "entry"):
        for change in items(entry.get("changes"), "changes"):
            if change.get("field") != "messages":
                continue
            value = mapping(change.get("value"), "value")
            metadata = mapping(value.get("metadata"), "metadata")
            if (
                not phone_number_id
                or text(metadata.get("phone_number_id"), "phone_number_id") != phone_number_id
            ):
                continue
            names = {
                text(contact.get("wa_id"), "wa_id"): text(
                    mapping(contact.get("profile"), "profile").get("name"), "name"
                )
                for contact in items(value.get("contacts"), "contacts")
            }
            parsed = (_parse_message(message, names) for message in items(value.get("messages"), "messages"))
            messages += [message for message in parsed if message]
            statuses += [
                _parse_status(status)
                for status in items(value.get("statuses"), "statuses")
                # a state Meta adds one day is not ours to apply; the rest of the batch is
                if status.get("status") in STATUSES
            ]
    return messages, statuses


def _parse_message(message, names):
    """One entry of ``messages``, or None for a kind we do not know (WhatsApp adds kinds:
    what we do not understand is left out, the rest of the delivery is applied)."""
    sender = identifier(message.get("from"), "from")
    if not sender.isdigit():
        raise Malformed("the sender is not a WhatsApp id")
    external_id = identifier(message.get("id"), "message id")
    inbound = InboundMessage(
        external_id=external_id,
        chat_id=sender,
        name=names.get(sender) or "",
        date=utc_from_timestamp(message.get("timestamp")),
        phone="+" + sender,
        ref=external_id,
    )
    kind = text(message.get("type"), "type")
    if kind == "system":
        return _parse_system(message, inbound)
    if kind in ("reaction", "revoke", "edit"):
        return _parse_change(message, kind, inbound)
    if not _parse_content(message, kind, inbound):
        return None
    inbound.text = inbound.text.strip()
    return inbound


def _parse_content(message, kind, inbound):
    """Read what a message of ``kind`` says into ``inbound`` (text, files, contents).

    :return: whether ``kind`` is one we know
    """
    if kind == "text":
        inbound.text = text(mapping(message.get("text"), "text").get("body"), "text")
    elif kind in MEDIA_TYPES:
        part = mapping(message.get(kind), kind)
        inbound.text = text(part.get("caption"), "caption")
        inbound.media.append(
            InboundMedia(
                ref=identifier(part.get("id"), "media id"),
                kind=kind,
                mimetype=text(part.get("mime_type"), "mime_type"),
                filename=text(part.get("filename"), "filename"),
            )
        )
    elif kind == "button":
        inbound.text = text(mapping(message.get("button"), "button").get("text"), "button")
    elif kind == "interactive":
        _parse_interactive(mapping(message.get("interactive"), "interactive"), inbound)
    elif kind == "location":
        inbound.contents.append(_location(mapping(message.get("location"), "location", required=True)))
    elif kind == "contacts":
        inbound.contents += [_contact(card) for card in items(message.get("contacts"), "contacts")]
    elif kind == "order":
        inbound.contents.append(_order(mapping(message.get("order"), "order")))
    elif kind in ("unsupported", "unknown"):
        # a message WhatsApp does not pass on to businesses (a poll, a view-once photo...)
        what = text(mapping(message.get("unsupported"), "unsupported").get("type"), "type")
        inbound.contents.append(InboundContent("unsupported", {"what": what[:40]}))
    else:
        return False
    return True


def _parse_interactive(reply, inbound):
    """The customer's answer to an interactive message: a button, a list item, a form (a
    WhatsApp Flow), or their permission for our calls."""
    kind = text(reply.get("type"), "interactive type")
    chosen = mapping(reply.get("button_reply"), "button_reply") or mapping(
        reply.get("list_reply"), "list_reply"
    )
    if chosen:
        inbound.text = text(chosen.get("title"), "title")
        rating = read_rating_button(text(chosen.get("id"), "button id"))
        if rating and reply.get("button_reply") is not None:
            # the customer's answer to the rating question
            inbound.action, (inbound.target, inbound.rating) = "rate", rating
    elif kind == "nfm_reply" or reply.get("nfm_reply") is not None:
        form = mapping(reply.get("nfm_reply"), "nfm_reply")
        raw = text(form.get("response_json"), "response_json")
        try:
            answers = json.loads(raw) if raw else {}
        except ValueError:
            answers = {"": raw}
        if not isinstance(answers, dict):
            answers = {"": raw}
        # the flow token is ours, not the customer's answer
        answers = {str(key): value for key, value in answers.items() if key != "flow_token"}
        inbound.contents.append(
            InboundContent("form", {"name": text(form.get("name"), "name"), "answers": answers})
        )
    elif kind == "call_permission_reply" or reply.get("call_permission_reply") is not None:
        permission = mapping(reply.get("call_permission_reply"), "call_permission_reply")
        expiry = permission.get("expiration_timestamp")
        inbound.contents.append(
            InboundContent(
                "call_permission",
                {
                    "response": text(permission.get("response"), "response"),
                    "until": utc_from_timestamp(expiry) if expiry is not None else None,
                },
            )
        )
    else:
        # an answer WhatsApp could not pass on (it says so in the notification's errors)
        inbound.contents.append(InboundContent("unsupported", {"what": kind[:40] or "interactive"}))


def _location(location):
    data = {
        "latitude": number(location.get("latitude"), "latitude"),
        "longitude": number(location.get("longitude"), "longitude"),
    }
    for key in ("name", "address", "url"):
        data[key] = text(location.get(key), key)
    return InboundContent("location", data)


def _contact(card):
    name = mapping(card.get("name"), "name")
    full_name = text(name.get("formatted_name"), "formatted_name") or " ".join(
        filter(None, (text(name.get(key), key) for key in ("first_name", "middle_name", "last_name")))
    )
    phones = [
        (
            text(phone.get("phone"), "phone") or text(phone.get("wa_id"), "wa_id"),
            text(phone.get("type"), "type"),
        )
        for phone in items(card.get("phones"), "phones")
    ]
    emails = [text(email.get("email"), "email") for email in items(card.get("emails"), "emails")]
    return InboundContent(
        "contact", {"name": full_name, "phones": [phone for phone in phones if phone[0]], "emails": emails}
    )


def _order(order):
    lines = []
    for item in items(order.get("product_items"), "product_items"):
        quantity, price = item.get("quantity"), item.get("item_price")
        lines.append(
            (
                text(item.get("product_retailer_id"), "product_retailer_id"),
                number(quantity, "quantity") if quantity is not None else 0,
                number(price, "item_price") if price is not None else None,
                text(item.get("currency"), "currency"),
            )
        )
    return InboundContent("order", {"text": text(order.get("text"), "text"), "items": lines})


def _parse_system(message, inbound):
    """A change WhatsApp reports about the customer: their number, or their identity."""
    system = mapping(message.get("system"), "system")
    kind = text(system.get("type"), "system type")
    if kind == "user_changed_number":
        # ``wa_id`` today, ``new_wa_id`` in older versions of the API
        new = identifier(system.get("wa_id") or system.get("new_wa_id"), "new wa_id")
        if not new.isdigit():
            raise Malformed("the new number is not a WhatsApp id")
        inbound.action, inbound.new_chat_id = "number_changed", new
    elif kind in ("customer_identity_changed", "user_identity_changed"):
        inbound.action = "identity_changed"
    else:
        return None
    inbound.text = text(system.get("body"), "body")
    return inbound


def _parse_change(message, kind, inbound):
    """What the customer did to an earlier message: a reaction (or its removal), an edit,
    a deletion ("revoke")."""
    part = mapping(message.get(kind), kind, required=True)
    inbound.action = {"reaction": "react", "edit": "edit", "revoke": "revoke"}[kind]
    if kind == "reaction":
        inbound.target = identifier(part.get("message_id"), "reacted message id")
        inbound.emoji = text(part.get("emoji"), "emoji")[:20]
    else:
        inbound.target = identifier(part.get("original_message_id"), "original message id")
    if kind == "edit":
        edited = mapping(part.get("message"), "edited message", required=True)
        # the edit's new text (or caption); its files stay those of the original. An edit
        # into a kind we do not know is left out, rather than blanking the original
        if not _parse_content(edited, text(edited.get("type"), "type"), inbound):
            return None
        inbound.media = []
        inbound.text = inbound.text.strip()
    return inbound


def _parse_status(status):
    errors = items(status.get("errors"), "errors")
    error = errors[0] if errors else {}
    state = status.get("status")
    code = error.get("code")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise Malformed("the error code is not a number")
    details = text(mapping(error.get("error_data"), "error_data").get("details"), "details")
    return StatusUpdate(
        external_id=identifier(status.get("id"), "status id"),
        state=state,
        date=utc_from_timestamp(status.get("timestamp")),
        error_code=code,
        error_message=details or text(error.get("message"), "message"),
        reference=text(status.get("biz_opaque_callback_data"), "biz_opaque_callback_data")[:MAX_ID_LENGTH],
    )


# ------------------------------------------------------------
# Requests
# ------------------------------------------------------------


def with_reference(payload, reference):
    """``payload`` carrying ``reference`` (``biz_opaque_callback_data``, at most 512 characters),
    which WhatsApp gives back in the message's statuses."""
    return dict(payload, biz_opaque_callback_data=reference) if reference else payload


def text_message(to, body):
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def buttons_message(to, body, buttons):
    """An interactive message with reply buttons: ``buttons`` is a list of ``(id, title)``, at
    most :data:`MAX_BUTTONS`, each title at most :data:`BUTTON_TITLE_LIMIT` characters (Meta's
    "Interactive reply buttons messages": the body at most 1,024 characters)."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": utc16_fit(body, BUTTON_BODY_LIMIT)},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": button_id, "title": utc16_fit(title, BUTTON_TITLE_LIMIT)},
                    }
                    for button_id, title in buttons[:MAX_BUTTONS]
                ]
            },
        },
    }


def media_message(to, kind, media_id, caption="", filename=""):
    """A message carrying an uploaded file; ``kind`` is image, audio, video or document."""
    part = {"id": media_id}
    if caption and kind != "audio":
        part["caption"] = caption
    if filename and kind == "document":
        part["filename"] = filename
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: part,
    }


def template_message(to, name, language, parameters=()):
    """An approved template (the only message allowed outside the 24-hour window)."""
    # Meta's reference marks the policy required: "deterministic" is its only value
    template = {"name": name, "language": {"policy": "deterministic", "code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": value} for value in parameters]}
        ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    }


def media_kind(mimetype):
    """How WhatsApp sends a file of this type."""
    if mimetype in ("image/jpeg", "image/png"):
        return "image"
    if mimetype.startswith("audio/"):
        return "audio"
    if mimetype in ("video/mp4", "video/3gpp"):
        return "video"
    return "document"


def map_error(status_code, body):
    """The :class:`MessengerError` for a refused Graph API call.

    :param int status_code: the HTTP status
    :param body: the decoded JSON answer (``{"error": {"code", "message", "error_data"}}``)
    """
    error = (body.get("error") if isinstance(body, dict) else None) or {}
    code = error.get("code")
    detail = (error.get("error_data") or {}).get("details") or error.get("message") or f"HTTP {status_code}"
    return error_for_code(code, detail, status_code)


def error_for_code(code, detail, status_code=None):
    if code in (ERROR_WINDOW_CLOSED, 470):
        return MessengerError("window_closed", detail, code)
    if code in RATE_LIMIT_DELAYS:
        return MessengerError("rate_limited", detail, code, retry_after=RATE_LIMIT_DELAYS[code])
    if code in TRANSIENT_CODES or (status_code or 0) >= 500 or status_code == 429:
        return MessengerError("unreachable", detail, code, transient=True)
    if code in UNKNOWN_RECIPIENT_CODES:
        return MessengerError("unknown_recipient", detail, code)
    if code in UNAUTHORIZED_CODES or status_code in (401, 403):
        return MessengerError("unauthorized", detail, code)
    return MessengerError("rejected", detail, code)


class WhatsAppApi:
    """The calls we make to the Cloud API for one phone number."""

    def __init__(self, base_url, token, phone_number_id, timeout=10):
        self.base_url = (base_url or DEFAULT_API_BASE_URL).rstrip("/")
        self.token = token or ""
        self.phone_number_id = phone_number_id or ""
        self.timeout = timeout

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def _call(self, method, path_or_url, **kwargs):
        url = path_or_url if "://" in path_or_url else f"{self.base_url}/{path_or_url}"
        response = http_call(method, url, self.timeout, headers=self._headers(), **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise map_error(response.status_code, body)
        return response

    def check(self):
        """Test connection: the phone number's details, e.g. its display number."""
        return self._call("GET", self.phone_number_id).json()

    def send(self, payload):
        """Send a message built by :func:`text_message` and the like; return its wamid."""
        response = self._call("POST", f"{self.phone_number_id}/messages", json=payload)
        try:
            return identifier(response.json()["messages"][0]["id"], "message id")
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise MessengerError("unreadable", "no message id in the answer") from error

    def upload_media(self, content, mimetype, filename):
        """Upload a file to send; return its media id."""
        response = self._call(
            "POST",
            f"{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mimetype},
            files={"file": (filename, content, mimetype)},
        )
        try:
            return identifier(response.json()["id"], "media id")
        except (KeyError, TypeError, ValueError) as error:
            raise MessengerError("unreadable", "no media id in the answer") from error

    def download_media(self, media_id, max_size):
        """The two-step download: the media's short-lived URL first, then its bytes.

        :return: ``(bytes, mimetype)``
        :raise MessengerError: ``too_large`` past ``max_size`` bytes
        """
        try:
            info = mapping(self._call("GET", media_id).json(), "media", required=True)
            size, url = int(info.get("file_size") or 0), text(info.get("url"), "url")
            mimetype = text(info.get("mime_type"), "mime_type")
        except (TypeError, ValueError) as error:
            raise MessengerError("unreadable", "the media's details cannot be read") from error
        if size > max_size:
            raise MessengerError("too_large", f"{size} bytes")
        if not url.startswith(("https://", "http://")):
            raise MessengerError("unreadable", "the media has no address")
        response = self._call("GET", url, stream=True)
        return read_limited(response, max_size), mimetype
