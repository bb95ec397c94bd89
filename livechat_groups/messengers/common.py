"""What every messenger protocol hands to the account: inbound messages, delivery statuses and
errors, whatever the provider's own shapes."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError


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
class InboundContent:
    """Something the customer sent that is more than text: the account renders it in the
    operator's language. ``kind`` is one of :data:`CONTENT_KINDS`; ``data`` holds its plain
    values (see each parser)."""

    kind: str
    data: dict = field(default_factory=dict)


CONTENT_KINDS = (
    "contact",  # name, phones: [(number, label)]
    "location",  # latitude, longitude, name, address, url
    "poll",  # question, options: [text]
    "dice",  # emoji, value
    "form",  # name, answers: {question: answer} (a WhatsApp Flow's reply)
    "call_permission",  # response: accept | reject, until: datetime or None
    "order",  # text, items: [(product, quantity, price, currency)]
    "unsupported",  # what: the provider's name of the kind, when it gives one
)

# what an inbound event does, besides posting a message
ACTIONS = (
    "post",  # a message: joins the customer's session (opened when they have none)
    "react",  # ``emoji`` on the message ``target`` (no emoji: the reaction is taken back)
    "edit",  # the message ``target`` now says ``text``
    "revoke",  # the customer deleted the message ``target``
    "number_changed",  # the customer's number is now ``new_chat_id``
    "identity_changed",  # the customer's WhatsApp identity changed (new phone, reinstall)
    "rate",  # a rating button: ``rating`` for the session ``target`` (Telegram: ``ref`` is the callback's id)
)


@dataclass
class InboundMessage:
    """A message a customer wrote to the account, or what they did to an earlier one."""

    external_id: str  # unique per account: WhatsApp message id, Telegram update id
    chat_id: str  # the conversation: WhatsApp wa_id, Telegram chat id
    name: str  # the customer's profile name, as the provider gives it
    date: datetime  # naive UTC, from the provider's timestamp
    text: str = ""
    phone: str = ""  # the number, when the provider gives one (E.164 digits for WhatsApp)
    media: list[InboundMedia] = field(default_factory=list)
    contents: list[InboundContent] = field(default_factory=list)
    # the provider's id of this message, which later edits, reactions and deletions name
    # (WhatsApp: the message id, as ``external_id``; Telegram: the message id in its chat)
    ref: str = ""
    action: str = "post"  # one of ACTIONS
    target: str = ""  # react, edit, revoke: the ``ref`` of the message concerned
    emoji: str = ""  # react
    new_chat_id: str = ""  # number_changed
    lang: str = ""  # the customer's language (IETF tag, e.g. "fr"), when the provider gives it
    rating: int = 0  # rate: one of RATING_VALUES


@dataclass
class StatusUpdate:
    """What became of a message we sent."""

    external_id: str
    state: str  # sent, delivered, read, failed
    date: datetime
    error_code: int | None = None
    error_message: str = ""
    # what we sent with the message for the provider to give back (WhatsApp's
    # ``biz_opaque_callback_data``): it finds our row when we never learnt the message's id
    reference: str = ""


# the rating question's buttons: stock's rating values (addons/rating: 5 satisfied, 3 okay,
# 1 dissatisfied), best first; a button's id names the session and the value
RATING_VALUES = (5, 3, 1)
RATING_BUTTON_PREFIX = "livechat_rating"


def rating_button_id(session_id, value):
    """The id of the rating button ``value`` for the session ``session_id`` (WhatsApp's reply
    button id, at most 256 characters; Telegram's ``callback_data``, at most 64 bytes)."""
    return f"{RATING_BUTTON_PREFIX}:{int(session_id)}:{int(value)}"


def read_rating_button(button_id):
    """What a rating button's id names.

    :return: ``(session id as a string, value)``, or None when ``button_id`` is not one of our
        rating buttons (another button, or a value we never offer)
    """
    parts = button_id.split(":") if isinstance(button_id, str) else []
    if (
        len(parts) != 3
        or parts[0] != RATING_BUTTON_PREFIX
        or not parts[1].isdigit()
        or not parts[2].isdigit()
    ):
        return None
    if int(parts[2]) not in RATING_VALUES or len(parts[1]) > 18:
        return None
    return parts[1], int(parts[2])


# why a request failed, as the account tells the operator (in their language)
REASONS = (
    "unreachable",  # network, provider down or overloaded: retried
    "rate_limited",  # the provider's limits (throughput, per customer): retried after its delay
    "window_closed",  # WhatsApp: more than 24 hours since the customer last wrote
    "unknown_recipient",  # the number is not on WhatsApp, the user blocked the bot
    "unauthorized",  # the access token is wrong or expired
    "too_large",  # a file above the size limit
    "unreadable",  # the provider answered, but not as documented: ``detail`` (for the log) says how
    "rejected",  # anything else the provider refused: its own words are in ``detail``
)


class MessengerError(Exception):
    """A request to the provider failed, for one of :data:`REASONS`. ``transient`` errors are
    worth retrying; ``detail`` holds the provider's own words, ``code`` its error code.
    ``uncertain``: the request was written to the provider, whose answer never came (a timeout,
    the connection lost): it may have been taken, and sending it again may deliver it twice.
    ``retry_after``: the provider's limits were hit, and it is worth trying again after that
    many seconds (a ``rate_limited`` error, which never fails the message)."""

    def __init__(self, reason, detail="", code=None, transient=False, uncertain=False, retry_after=None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.code = code
        self.transient = transient or retry_after is not None
        self.uncertain = uncertain
        self.retry_after = retry_after


MAX_ID_LENGTH = 256
# timestamps between 2000 and 2100: anything else is not a message of ours
MIN_TIMESTAMP, MAX_TIMESTAMP = 946684800, 4102444800


class Malformed(ValueError):
    """A signed webhook that cannot be read: it is logged and dropped whole."""


def load_json(raw_body):
    """The webhook's JSON; refused when it is not JSON, or nested so deep that the parser
    exhausts its recursion.

    :raise Malformed:
    """
    try:
        return json.loads(raw_body)
    except (ValueError, RecursionError) as error:
        raise Malformed(f"not JSON ({type(error).__name__})") from error


def mapping(value, what, required=False):
    """``value`` as a dict: empty when it is missing (unless ``required``), refused when it is not one."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def items(value, what):
    """``value`` as a list of dicts: empty when missing, refused when it or an item is not one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{what} is not a list")
    return [mapping(item, what, required=True) for item in value]


def text(value, what):
    """``value`` as text: empty when missing, refused when it is not a string. NUL characters
    are dropped: PostgreSQL stores no text with them (a name with one would fail the intake)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not text")
    return value.replace("\x00", "")


def identifier(value, what):
    """``value`` (a string or an integer, never a boolean, a list or an object) as a non-empty
    string of at most :data:`MAX_ID_LENGTH` characters."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{what} is not an id")
    value = str(value).strip()
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise Malformed(f"{what} is empty, too long or has a NUL character")
    return value


def number(value, what):
    """``value`` as a float (a JSON number, or a string of one, as some providers send
    coordinates); refused when it is neither, or not finite."""
    if isinstance(value, bool):
        raise Malformed(f"{what} is not a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as error:
            raise Malformed(f"{what} is not a number") from error
    if not isinstance(value, int | float) or value != value or value in (float("inf"), float("-inf")):
        raise Malformed(f"{what} is not a number")
    return float(value)


def utf16_length(value):
    """The length of ``value`` as WhatsApp and Telegram count it (UTF-16 code units: an
    emoji outside the basic plane counts twice), never less than Python's ``len``."""
    return len(value.encode("utf-16-le")) // 2


def utc16_fit(value, limit):
    """``value`` cut to at most ``limit`` characters as the providers count them
    (:func:`utf16_length`), for a label that must fit (a button's title)."""
    while utf16_length(value) > limit:
        value = value[:-1]
    return value


# where a long text is best cut, from the most to the least natural
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ")


def split_text(value, limit):
    """``value`` in parts of at most ``limit`` characters (counted as :func:`utf16_length`
    does), in order, cut at a paragraph, else a line, else a sentence, else a space; a word
    is cut only when it alone is longer than ``limit``.

    :return: a list of non-empty strings (empty for a blank ``value``)
    """
    parts, rest = [], value.strip()
    while utf16_length(rest) > limit:
        # the longest head of ``rest`` that fits
        size, end = 0, 0
        for end, char in enumerate(rest):  # noqa: B007 - ``end`` is read after the loop
            size += 2 if ord(char) > 0xFFFF else 1
            if size > limit:
                break
        head = rest[:end]
        cut = 0
        for mark in _BREAKS:
            found = head.rfind(mark)
            # a break in the first half would leave a short part and make more messages
            if found >= len(head) // 2:
                cut = found + len(mark.rstrip(" ")) if mark.strip() else found
                break
        if not cut:
            found = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n"))
            cut = found if found > 0 else end
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def base_mimetype(mimetype):
    """``mimetype`` without its parameters: ``audio/ogg; codecs=opus`` is ``audio/ogg``."""
    return (mimetype or "").split(";", 1)[0].strip().lower()


def utc_from_timestamp(value):
    """A provider's Unix timestamp (int or string of digits) as a naive UTC datetime, as Odoo
    stores them; refused when it is not one, or out of range."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TIMESTAMP <= value <= MAX_TIMESTAMP:
        raise Malformed("the timestamp is not a date of this century")
    return datetime.fromtimestamp(value, tz=timezone.utc).replace(tzinfo=None)


def http_call(method, url, timeout, **kwargs):
    """Call the provider; a connection failure or a timeout is a transient error, ``uncertain``
    when the request may have reached the provider (see :func:`never_sent`).

    :return: the ``requests.Response``, whatever its status
    """
    try:
        return requests.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        raise MessengerError(
            "unreachable", type(error).__name__, transient=True, uncertain=not never_sent(error)
        ) from error


def never_sent(error):
    """Whether the failed request ``error`` (a ``requests`` exception) never reached the
    provider: no connection could be opened (refused, no route, name unknown, connect timeout).
    A timeout while waiting for the answer, or a connection lost after the request was written,
    may follow a request the provider took."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.Timeout):
        return False  # a read timeout: the provider may accept late
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else None
        reason = getattr(cause, "reason", cause)
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    # a request refused before it left (a bad URL...), else an answer broken while read
    return not isinstance(error, requests.exceptions.ChunkedEncodingError)


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


def delivery_parts(messages, statuses):
    """How a webhook's events are kept until processed: one part per conversation, so that
    each conversation is processed in order and the others are not held back by it; the
    statuses together, with no conversation (they only move forward, in any order).

    :return: a list of ``(chat_key, event_key)``: ``chat_key`` the conversation's ``chat_id``
        ("" for the statuses); ``event_key`` a digest of the provider's ids of its events, the
        same whenever the provider delivers them again (a status's id is its message's, so its
        state is part of its key)
    """
    chats = {}
    for message in messages:
        chats.setdefault(message.chat_id, []).append(message.external_id)
    if statuses:
        chats[""] = [f"{status.external_id}:{status.state}" for status in statuses]
    return [
        (chat_key, hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest())
        for chat_key, ids in chats.items()
    ]


def events_of_part(messages, statuses, chat_key):
    """The events of ``chat_key``'s part (see :func:`delivery_parts`): ``(messages, statuses)``."""
    if chat_key:
        return [message for message in messages if message.chat_id == chat_key], []
    return [], list(statuses)
