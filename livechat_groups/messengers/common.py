"""What every messenger protocol hands to the account: inbound messages, delivery statuses and
errors, whatever the provider's own shapes."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests


@dataclass
class InboundMedia:
    """A file the customer sent, still on the provider's side: ``ref`` is what its download
    needs (WhatsApp media id, Telegram file id)."""

    ref: str
    kind: str  # image, audio, video, document, sticker
    mimetype: str = ""
    filename: str = ""
    size: int = 0


@dataclass
class InboundMessage:
    """A message a customer wrote to the account."""

    external_id: str  # unique per account: WhatsApp message id, Telegram update id
    chat_id: str  # the conversation: WhatsApp wa_id, Telegram chat id
    name: str  # the customer's profile name, as the provider gives it
    date: datetime  # naive UTC, from the provider's timestamp
    text: str = ""
    phone: str = ""  # the number, when the provider gives one (E.164 digits for WhatsApp)
    media: list[InboundMedia] = field(default_factory=list)


@dataclass
class StatusUpdate:
    """What became of a message we sent."""

    external_id: str
    state: str  # sent, delivered, read, failed
    date: datetime
    error_code: int | None = None
    error_message: str = ""


# why a request failed, as the account tells the operator (in their language)
REASONS = (
    "unreachable",  # network, provider down or overloaded, rate limit: retried
    "window_closed",  # WhatsApp: more than 24 hours since the customer last wrote
    "unknown_recipient",  # the number is not on WhatsApp, the user blocked the bot
    "unauthorized",  # the access token is wrong or expired
    "too_large",  # a file above the size limit
    "rejected",  # anything else the provider refused: its own words are in ``detail``
)


class MessengerError(Exception):
    """A request to the provider failed, for one of :data:`REASONS`. ``transient`` errors are
    worth retrying; ``detail`` holds the provider's own words, ``code`` its error code."""

    def __init__(self, reason, detail="", code=None, transient=False):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.code = code
        self.transient = transient


def utc_from_timestamp(value):
    """A provider's Unix timestamp (int or string) as a naive UTC datetime, as Odoo stores them."""
    return datetime.fromtimestamp(int(value), tz=timezone.utc).replace(tzinfo=None)


def http_call(method, url, timeout, **kwargs):
    """Call the provider; a connection failure or a timeout is a transient error.

    :return: the ``requests.Response``, whatever its status
    """
    try:
        return requests.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        raise MessengerError("unreachable", type(error).__name__, transient=True) from error


def read_limited(response, max_size):
    """The body of a streamed download, refused past ``max_size`` bytes.

    :raise MessengerError: when the file is larger
    """
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_size:
            response.close()
            raise MessengerError("too_large", f"more than {max_size} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
