"""Telegram Bot API: the subset a live chat needs.

Webhook: ``setWebhook(url, secret_token)``, after which every POST carries the secret in
``X-Telegram-Bot-Api-Secret-Token`` (no HMAC). Each update has an ``update_id`` that identifies
repeats. Sending: ``POST /bot<token>/sendMessage`` and ``sendDocument``; files in with
``getFile``. Telegram gives no phone number and no delivery receipts.
"""

import hmac

from .common import (
    MIN_TIMESTAMP,
    InboundContent,
    InboundMedia,
    InboundMessage,
    Malformed,
    MessengerError,
    http_call,
    identifier,
    items,
    mapping,
    number,
    read_limited,
    read_rating_button,
    text,
    utc_from_timestamp,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
# the longest text of one sendMessage (characters, after entities parsing)
TEXT_LIMIT = 4096
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# flood control (429) without a readable retry_after: the wait before the next try (seconds);
# a longer wait than the provider's cap is never taken from it
DEFAULT_RETRY_AFTER = 5
MAX_RETRY_AFTER = 3600


def verify_signature(raw_body, headers, webhook_secret):
    """Whether the request carries our secret token; fails closed when either is missing."""
    header = headers.get(SECRET_HEADER) or ""
    if not webhook_secret or not header:
        return False
    return hmac.compare_digest(header.encode(), webhook_secret.encode())


def parse_webhook(payload):
    """The message of one update (Telegram posts one update per request).

    :raise Malformed: when the payload is not an update, or any part of it cannot be read
        (the whole update is then dropped)
    :return: ``(list of InboundMessage, [])``: an edit of a message edits it; channel posts,
        group messages and kinds of update we do not know give nothing
    """
    payload = mapping(payload, "the update", required=True)
    update_id = payload.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise Malformed("not a Telegram update")
    if payload.get("callback_query") is not None:
        inbound = _parse_callback_query(
            mapping(payload.get("callback_query"), "callback_query"), str(update_id)
        )
        return ([inbound] if inbound else []), []
    message = mapping(payload.get("message"), "message")
    edited = mapping(payload.get("edited_message"), "edited_message")
    if not (message or edited):
        return [], []
    inbound = _parse_message(message or edited, str(update_id))
    if inbound and edited:
        # the message's new text; its files stay those of the original
        inbound.action, inbound.target, inbound.ref = "edit", inbound.ref, ""
        inbound.media = []
    return ([inbound] if inbound else []), []


def _parse_message(message, external_id):
    chat = mapping(message.get("chat"), "chat", required=True)
    if chat.get("type", "private") != "private":
        return None
    chat_id = chat.get("id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise Malformed("the chat id is not a number")
    sender = mapping(message.get("from"), "from")
    name = " ".join(
        filter(
            None, (text(sender.get("first_name"), "first_name"), text(sender.get("last_name"), "last_name"))
        )
    )
    message_id = message.get("message_id")
    inbound = InboundMessage(
        external_id=external_id,
        chat_id=str(chat_id),
        name=name or text(sender.get("username"), "username"),
        date=utc_from_timestamp(message.get("date")),
        ref=identifier(message_id, "message_id") if message_id is not None else "",
        # the language of the customer's Telegram app
        lang=text(sender.get("language_code"), "language_code"),
    )
    if photos := items(message.get("photo"), "photo"):
        # the sizes of a photo, listed in no promised order: the largest file, else the most pixels
        largest = max(photos, key=lambda size: (_size(size), _pixels(size)))
        inbound.media.append(
            InboundMedia(
                ref=identifier(largest.get("file_id"), "file_id"),
                kind="image",
                mimetype="image/jpeg",
                size=_size(largest),
            )
        )
    for key, kind, default_type in (
        ("document", "document", ""),
        ("voice", "audio", "audio/ogg"),
        ("audio", "audio", ""),
        ("video", "video", ""),
        ("video_note", "video", "video/mp4"),  # a round video: MPEG-4, with no type given
    ):
        if part := mapping(message.get(key), key):
            inbound.media.append(_media(part, kind, default_type))
    if sticker := mapping(message.get("sticker"), "sticker"):
        # its emoji says it; without one, a still sticker is shown as the image it is
        inbound.text = text(sticker.get("emoji"), "emoji")
        if not inbound.text and not sticker.get("is_animated") and not sticker.get("is_video"):
            inbound.media.append(_media(sticker, "sticker", "image/webp"))
    if venue := mapping(message.get("venue"), "venue"):
        location = mapping(venue.get("location"), "location", required=True)
        inbound.contents.append(
            _location(
                location,
                name=text(venue.get("title"), "title"),
                address=text(venue.get("address"), "address"),
            )
        )
    elif location := mapping(message.get("location"), "location"):
        inbound.contents.append(_location(location))
    if dice := mapping(message.get("dice"), "dice"):
        value = dice.get("value")
        if isinstance(value, bool) or not isinstance(value, int):
            raise Malformed("the dice's value is not a number")
        inbound.contents.append(
            InboundContent("dice", {"emoji": text(dice.get("emoji"), "emoji"), "value": value})
        )
    if poll := mapping(message.get("poll"), "poll"):
        inbound.contents.append(
            InboundContent(
                "poll",
                {
                    "question": text(poll.get("question"), "question"),
                    "options": [
                        text(option.get("text"), "option") for option in items(poll.get("options"), "options")
                    ],
                },
            )
        )
    contact = mapping(message.get("contact"), "contact")
    inbound.text = (
        text(message.get("text"), "text") or text(message.get("caption"), "caption") or inbound.text
    )
    if contact:
        phone = text(contact.get("phone_number"), "phone_number")
        contact_name = " ".join(
            filter(
                None,
                (text(contact.get("first_name"), "first_name"), text(contact.get("last_name"), "last_name")),
            )
        )
        inbound.contents.append(
            InboundContent(
                "contact", {"name": contact_name, "phones": [(phone, "")] if phone else [], "emails": []}
            )
        )
        # a user who shares their own contact gives their number
        if contact.get("user_id") == sender.get("id"):
            inbound.phone = phone
    inbound.text = inbound.text.strip()
    return inbound


def _parse_callback_query(query, external_id):
    """A tap on a button of ours (an inline keyboard's ``callback_data``): a rating button
    gives a ``rate`` event; any other button, or a tap in a group, gives nothing. The callback's
    id is kept in ``ref``: Telegram waits for its answer (``answerCallbackQuery``)."""
    rating = read_rating_button(text(query.get("data"), "data"))
    message = mapping(query.get("message"), "message")
    chat = mapping(message.get("chat"), "chat")
    if not rating or chat.get("type", "private") != "private":
        return None
    sender = mapping(query.get("from"), "from", required=True)
    # in a private chat, the chat's id is the user's
    chat_id = chat.get("id", sender.get("id"))
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise Malformed("the chat id is not a number")
    name = " ".join(
        filter(
            None, (text(sender.get("first_name"), "first_name"), text(sender.get("last_name"), "last_name"))
        )
    )
    # a callback has no date of its own: the question's, which the tap cannot precede
    date = message.get("date")
    return InboundMessage(
        external_id=external_id,
        chat_id=str(chat_id),
        name=name or text(sender.get("username"), "username"),
        date=utc_from_timestamp(date) if date else utc_from_timestamp(MIN_TIMESTAMP),
        ref=identifier(query.get("id"), "callback query id"),
        action="rate",
        target=rating[0],
        rating=rating[1],
        lang=text(sender.get("language_code"), "language_code"),
    )


def inline_keyboard(buttons):
    """A ``reply_markup`` of one row of buttons that call back: ``buttons`` is a list of
    ``(callback_data, text)`` (``callback_data``: 1 to 64 bytes)."""
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for data, label in buttons]]}


def _media(part, kind, default_type):
    return InboundMedia(
        ref=identifier(part.get("file_id"), "file_id"),
        kind=kind,
        mimetype=text(part.get("mime_type"), "mime_type") or default_type,
        filename=text(part.get("file_name"), "file_name"),
        size=_size(part),
    )


def _location(location, name="", address=""):
    return InboundContent(
        "location",
        {
            "latitude": number(location.get("latitude"), "latitude"),
            "longitude": number(location.get("longitude"), "longitude"),
            "name": name,
            "address": address,
            "url": "",
        },
    )


def _pixels(part):
    width, height = part.get("width") or 0, part.get("height") or 0
    if not all(isinstance(side, int) and not isinstance(side, bool) for side in (width, height)):
        raise Malformed("the photo's size is not a number")
    return width * height


def _size(part):
    size = part.get("file_size") or 0
    if isinstance(size, bool) or not isinstance(size, int):
        raise Malformed("the file size is not a number")
    return size


def map_error(status_code, body):
    """The :class:`MessengerError` for a refused Bot API call (``{"ok": false, "error_code",
    "description"}``)."""
    body = body if isinstance(body, dict) else {}
    code = body.get("error_code") or status_code
    detail = body.get("description") or f"HTTP {status_code}"
    if code == 429:
        # flood control: Telegram says how long to wait (ResponseParameters.retry_after)
        retry_after = (body.get("parameters") if isinstance(body.get("parameters"), dict) else {}).get(
            "retry_after"
        )
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            retry_after = DEFAULT_RETRY_AFTER
        return MessengerError("rate_limited", detail, code, retry_after=min(retry_after, MAX_RETRY_AFTER))
    if code >= 500:
        return MessengerError("unreachable", detail, code, transient=True)
    if code == 401:
        return MessengerError("unauthorized", detail, code)
    if code == 403 or "chat not found" in detail:
        return MessengerError("unknown_recipient", detail, code)
    return MessengerError("rejected", detail, code)


class TelegramApi:
    """The calls we make to the Bot API for one bot."""

    def __init__(self, base_url, token, timeout=10):
        self.base_url = (base_url or DEFAULT_API_BASE_URL).rstrip("/")
        self.token = token or ""
        self.timeout = timeout

    def _call(self, method, **kwargs):
        response = http_call("POST", f"{self.base_url}/bot{self.token}/{method}", self.timeout, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not (body or {}).get("ok"):
            raise map_error(response.status_code, body)
        return body["result"]

    def check(self):
        """Test connection: the bot's own user."""
        return self._call("getMe")

    def send_text(self, chat_id, text):
        """Send a text; return the message id Telegram gave it."""
        return str(self._call("sendMessage", json={"chat_id": chat_id, "text": text})["message_id"])

    def send_buttons(self, chat_id, text, buttons):
        """Send a text with an inline keyboard (see :func:`inline_keyboard`); return its message id."""
        payload = {"chat_id": chat_id, "text": text, "reply_markup": inline_keyboard(buttons)}
        return str(self._call("sendMessage", json=payload)["message_id"])

    def answer_callback(self, callback_query_id, text=""):
        """Answer a tap on a button, which the customer's app shows as loading until then;
        ``text`` (at most 200 characters) is shown to them as a notification."""
        payload = {"callback_query_id": callback_query_id}
        if text:
            payload["text"] = text[:200]
        return self._call("answerCallbackQuery", json=payload)

    def send_file(self, chat_id, content, mimetype, filename, caption=""):
        """Send a file (a photo when it is one); return its message id."""
        method, field = (
            ("sendPhoto", "photo")
            if mimetype in ("image/jpeg", "image/png")
            else ("sendDocument", "document")
        )
        data = {"chat_id": chat_id}
        if caption:
            data["caption"] = caption
        result = self._call(method, data=data, files={field: (filename, content, mimetype)})
        return str(result["message_id"])

    def set_webhook(self, url, secret):
        return self._call("setWebhook", json={"url": url, "secret_token": secret})

    def download_file(self, file_id, max_size):
        """``getFile``, then the file itself.

        :return: ``(bytes, mimetype)`` (Telegram gives no type: the caller knows it)
        """
        try:
            info = mapping(self._call("getFile", json={"file_id": file_id}), "file", required=True)
            size, path = int(info.get("file_size") or 0), text(info.get("file_path"), "file_path")
        except (TypeError, ValueError) as error:
            raise MessengerError("unreadable", "the file's details cannot be read") from error
        if size > max_size:
            raise MessengerError("too_large", f"{size} bytes")
        if not path:
            raise MessengerError("unreadable", "the file has no path")
        url = f"{self.base_url}/file/bot{self.token}/{path}"
        response = http_call("GET", url, self.timeout, stream=True)
        if response.status_code >= 400:
            raise map_error(response.status_code, None)
        return read_limited(response, max_size), ""
