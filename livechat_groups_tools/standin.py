"""A local stand-in for the WhatsApp Cloud API and the Telegram Bot API.

A real HTTP server on loopback that answers the documented subset Odoo uses (messages, media,
statuses, test connection), records every request Odoo makes, and posts signed webhooks to Odoo
as Meta or Telegram would. Tests start it in a thread on port 0; ``scripts/messenger_standin.py``
runs it from a terminal, where each line typed becomes a customer's message.
``whatsapp_signature`` signs a webhook as Meta does: the one signer of the tests, the checks and
the benchmarks (Odoo verifies it with ``livechat_groups.messengers.whatsapp.verify_signature``).

Standard library only: ``make standin`` runs it with the system's Python, without Odoo.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_PORT = 8090
WHATSAPP_VERSION = "v21.0"
WHATSAPP_SIGNATURE_HEADER = "X-Hub-Signature-256"


def whatsapp_signature(raw_body, app_secret):
    """The ``X-Hub-Signature-256`` header Meta sends with ``raw_body`` (bytes, as posted):
    HMAC-SHA256 of the body with the app's secret."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


class Recorded:
    """One request Odoo made: ``path``, ``headers``, ``json`` (decoded body or None), ``form``
    (multipart fields, files as ``(filename, bytes, mimetype)``)."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.json = None
        self.form = {}
        content_type = headers.get("Content-Type") or ""
        if content_type.startswith("application/json") and body:
            self.json = json.loads(body)
        elif content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=default_policy).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True)
                self.form[name] = (
                    (filename, payload, part.get_content_type()) if filename else payload.decode()
                )

    def __repr__(self):
        return f"<{self.method} {self.path} {self.json or self.form}>"


class StandIn:
    """The provider's API for one account: ``provider`` is ``whatsapp`` or ``telegram``.

    ``down`` makes every API call answer 503 (the provider is down); ``requests`` lists what
    Odoo sent; ``on_message`` is called with each message Odoo sent (interactive mode);
    ``refusals``, a list of ``(status, body)`` (e.g. a recorded rate-limit answer), answers the
    next sends of a message in turn, instead of taking them.
    """

    def __init__(
        self,
        provider="whatsapp",
        host="127.0.0.1",
        port=0,
        token="standin-token",
        app_secret="standin-app-secret",
        webhook_secret="standin-webhook-secret",
        phone_number_id="100200300",
        display_phone_number="+1 555 0100",
    ):
        self.provider = provider
        self.token = token
        self.app_secret = app_secret
        self.webhook_secret = webhook_secret
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.requests = []
        self.media = {}  # id -> (bytes, mimetype, filename)
        self.down = False
        self.on_message = None
        self.refusals = []
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(int(time.time()) % 100000 * 1000)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread = None

    # ------------------------------------------------------------
    # Server
    # ------------------------------------------------------------

    @property
    def root_url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_base_url(self):
        """What the messenger's ``api_base_url`` must be to talk to this stand-in."""
        if self.provider == "whatsapp":
            return f"{self.root_url}/{WHATSAPP_VERSION}"
        return self.root_url

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def sent(self):
        """The messages Odoo sent (WhatsApp: the JSON bodies; Telegram: the JSON or form fields)."""
        with self._lock:
            return [
                request.json or request.form
                for request in self.requests
                if request.path.endswith(("/messages", "/sendMessage", "/sendPhoto", "/sendDocument"))
            ]

    def add_media(self, content, mimetype, filename=""):
        """A file a customer sends: its id for a webhook (WhatsApp media id / Telegram file id)."""
        media_id = f"media-{next(self._ids)}"
        self.media[media_id] = (content, mimetype, filename)
        return media_id

    def _handler_class(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def _answer(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Recorded(method, self.path, dict(self.headers), body)
                with standin._lock:
                    standin.requests.append(request)
                if standin.down:
                    return self._answer(
                        503, {"error": {"code": 2, "message": "Service temporarily unavailable"}}
                    )
                handle = standin._whatsapp if standin.provider == "whatsapp" else standin._telegram
                status, answer, content_type = handle(request)
                self._answer(status, answer, content_type)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        return Handler

    # ------------------------------------------------------------
    # The providers' answers
    # ------------------------------------------------------------

    def _whatsapp(self, request):
        json_type = "application/json"
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": 190, "message": "Invalid OAuth access token."}}, json_type
        parts = request.path.split("?")[0].strip("/").split("/")
        if parts[0] == "download" and parts[-1] in self.media:
            content, mimetype, _name = self.media[parts[-1]]
            return 200, content, mimetype
        if parts[0] != WHATSAPP_VERSION or len(parts) < 2:
            return 404, {"error": {"code": 100, "message": "Unknown path"}}, json_type
        target, action = parts[1], parts[2] if len(parts) > 2 else None
        if action is None and target == self.phone_number_id:
            return 200, {"id": target, "display_phone_number": self.display_phone_number}, json_type
        if action is None and target in self.media:
            content, mimetype, _name = self.media[target]
            return (
                200,
                {
                    "url": f"{self.root_url}/download/{target}",
                    "mime_type": mimetype,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "file_size": len(content),
                    "id": target,
                },
                json_type,
            )
        if target != self.phone_number_id:
            return 400, {"error": {"code": 100, "message": f"Unknown object {target}"}}, json_type
        if action == "media":
            filename, content, mimetype = request.form["file"]
            return 200, {"id": self.add_media(content, mimetype, filename)}, json_type
        if action == "messages":
            message = request.json
            if self.refusals:
                status, body = self.refusals.pop(0)
                return status, body, json_type
            wamid = f"wamid.standin{next(self._ids)}"
            if self.on_message:
                self.on_message(message)
            return (
                200,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": message["to"], "wa_id": message["to"]}],
                    "messages": [{"id": wamid}],
                },
                json_type,
            )
        return 404, {"error": {"code": 100, "message": "Unknown path"}}, json_type

    def _telegram(self, request):
        json_type = "application/json"
        path = request.path.split("?")[0]
        if path.startswith(f"/file/bot{self.token}/"):
            media_id = path.rsplit("/", 1)[-1]
            if media_id in self.media:
                content, mimetype, _name = self.media[media_id]
                return 200, content, mimetype
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, json_type
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, json_type
        method = path[len(prefix) :]
        args = request.json or request.form
        if method == "getMe":
            return (
                200,
                {"ok": True, "result": {"id": 1, "is_bot": True, "username": "standin_bot"}},
                json_type,
            )
        if method in ("setWebhook", "answerCallbackQuery"):
            return 200, {"ok": True, "result": True}, json_type
        if method == "getFile":
            file_id = args["file_id"]
            if file_id not in self.media:
                return (
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                    json_type,
                )
            size = len(self.media[file_id][0])
            return (
                200,
                {"ok": True, "result": {"file_id": file_id, "file_size": size, "file_path": file_id}},
                json_type,
            )
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            if self.refusals:
                status, body = self.refusals.pop(0)
                return status, body, json_type
            if self.on_message:
                self.on_message(args)
            result = {
                "message_id": next(self._ids),
                "chat": {"id": int(args["chat_id"])},
                "date": int(time.time()),
            }
            return 200, {"ok": True, "result": result}, json_type
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, json_type

    # ------------------------------------------------------------
    # Webhooks to Odoo
    # ------------------------------------------------------------

    def whatsapp_payload(
        self,
        wa_id,
        name="",
        text="",
        message_id=None,
        timestamp=None,
        media=None,
        messages=None,
        statuses=None,
    ):
        """A notification as Meta posts it: one text or media message (or the given ``messages``
        and ``statuses`` lists)."""
        if messages is None and (text or media):
            message = {
                "from": wa_id,
                "id": message_id or f"wamid.in{next(self._ids)}.{time.time_ns()}",
                "timestamp": str(int(timestamp or time.time())),
            }
            if media:
                kind, media_id = media
                content, mimetype, filename = self.media[media_id]
                message.update(type=kind)
                message[kind] = {
                    "id": media_id,
                    "mime_type": mimetype,
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
                if filename:
                    message[kind]["filename"] = filename
                if text:
                    message[kind]["caption"] = text
            else:
                message.update(type="text", text={"body": text})
            messages = [message]
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": self.display_phone_number,
                "phone_number_id": self.phone_number_id,
            },
        }
        if messages:
            value["contacts"] = [{"profile": {"name": name or wa_id}, "wa_id": wa_id}]
            value["messages"] = messages
        if statuses:
            value["statuses"] = statuses
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "standin-waba", "changes": [{"field": "messages", "value": value}]}],
        }

    @staticmethod
    def whatsapp_status(
        wamid, status, recipient, timestamp=None, error_code=None, error_details="", reference=None
    ):
        """One entry of a notification's ``statuses``; ``reference`` is the
        ``biz_opaque_callback_data`` the message was sent with, which WhatsApp gives back."""
        entry = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(timestamp or time.time())),
            "recipient_id": recipient,
        }
        if reference:
            entry["biz_opaque_callback_data"] = reference
        if error_code:
            entry["errors"] = [
                {"code": error_code, "title": error_details, "error_data": {"details": error_details}}
            ]
        return entry

    def telegram_update(
        self, chat_id, first_name="", text="", update_id=None, media=None, date=None, language_code=None
    ):
        """An update as Telegram posts it: a private message (text, or a file with its caption)."""
        message = {
            "message_id": next(self._ids),
            "from": {
                "id": int(chat_id),
                "is_bot": False,
                "first_name": first_name,
                **({"language_code": language_code} if language_code else {}),
            },
            "chat": {"id": int(chat_id), "type": "private", "first_name": first_name},
            "date": int(date or time.time()),
        }
        if media:
            kind, file_id = media
            content, mimetype, filename = self.media[file_id]
            if kind == "photo":
                message["photo"] = [
                    {
                        "file_id": file_id,
                        "file_unique_id": file_id,
                        "width": 1,
                        "height": 1,
                        "file_size": len(content),
                    }
                ]
            else:
                message["document"] = {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "file_name": filename,
                    "mime_type": mimetype,
                    "file_size": len(content),
                }
            if text:
                message["caption"] = text
        else:
            message["text"] = text
        return {
            "update_id": update_id if update_id is not None else next(self._update_ids),
            "message": message,
        }

    def sign(self, body):
        """The headers that authenticate ``body`` (bytes) as the provider's."""
        if self.provider == "whatsapp":
            return {WHATSAPP_SIGNATURE_HEADER: whatsapp_signature(body, self.app_secret)}
        return {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret}

    def post_webhook(self, url, payload, headers=None, timeout=30):
        """Post ``payload`` to Odoo's webhook, signed unless ``headers`` say otherwise.

        :return: ``(HTTP status, body bytes)``
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        all_headers = {
            "Content-Type": "application/json",
            **(self.sign(body) if headers is None else headers),
        }
        request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
