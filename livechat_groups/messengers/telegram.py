"""Telegram Bot API: the subset a live chat needs.

Webhook: ``setWebhook(url, secret_token)``, after which every POST carries the secret in
``X-Telegram-Bot-Api-Secret-Token`` (no HMAC). Each update has an ``update_id`` that identifies
repeats. Sending: ``POST /bot<token>/sendMessage`` and ``sendDocument``; files in with
``getFile``. Telegram gives no phone number and no delivery receipts.
"""

import hmac

from .common import (
    InboundMedia,
    InboundMessage,
    Malformed,
    MessengerError,
    http_call,
    identifier,
    items,
    mapping,
    read_limited,
    text,
    utc_from_timestamp,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


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
    :return: ``(list of InboundMessage, [])``: edits, channel posts and the like give no message
    """
    payload = mapping(payload, "the update", required=True)
    update_id = payload.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise Malformed("not a Telegram update")
    message = mapping(payload.get("message"), "message")
    if not message:
        return [], []
    chat = mapping(message.get("chat"), "chat", required=True)
    if chat.get("type", "private") != "private":
        return [], []
    chat_id = chat.get("id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise Malformed("the chat id is not a number")
    sender = mapping(message.get("from"), "from")
    name = " ".join(
        filter(
            None, (text(sender.get("first_name"), "first_name"), text(sender.get("last_name"), "last_name"))
        )
    )
    media = []
    if photos := items(message.get("photo"), "photo"):
        largest = photos[-1]  # Telegram lists the sizes of a photo from the smallest
        media.append(
            InboundMedia(
                ref=identifier(largest.get("file_id"), "file_id"),
                kind="image",
                mimetype="image/jpeg",
                size=_size(largest),
            )
        )
    for key, kind in (("document", "document"), ("voice", "audio"), ("audio", "audio"), ("video", "video")):
        if part := mapping(message.get(key), key):
            media.append(
                InboundMedia(
                    ref=identifier(part.get("file_id"), "file_id"),
                    kind=kind,
                    mimetype=text(part.get("mime_type"), "mime_type"),
                    filename=text(part.get("file_name"), "file_name"),
                    size=_size(part),
                )
            )
    contact = mapping(message.get("contact"), "contact")
    body = text(message.get("text"), "text") or text(message.get("caption"), "caption")
    phone = text(contact.get("phone_number"), "phone_number")
    if contact and not body:
        body = " ".join(filter(None, (text(contact.get("first_name"), "first_name"), phone)))
    return [
        InboundMessage(
            external_id=str(update_id),
            chat_id=str(chat_id),
            name=name or text(sender.get("username"), "username"),
            date=utc_from_timestamp(message.get("date")),
            text=body.strip(),
            # a user who shares their own contact gives their number
            phone=phone if contact.get("user_id") == sender.get("id") else "",
            media=media,
            # the language of the customer's Telegram app
            lang=text(sender.get("language_code"), "language_code"),
        )
    ], []


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
    if code == 429 or code >= 500:
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
            raise MessengerError("rejected", "the file's details cannot be read") from error
        if size > max_size:
            raise MessengerError("too_large", f"{size} bytes")
        if not path:
            raise MessengerError("rejected", "the file has no path")
        url = f"{self.base_url}/file/bot{self.token}/{path}"
        response = http_call("GET", url, self.timeout, stream=True)
        if response.status_code >= 400:
            raise map_error(response.status_code, None)
        return read_limited(response, max_size), ""
