#!/usr/bin/env python3
"""Play a WhatsApp (or Telegram) customer of the demo from a terminal.

Starts the local stand-in of the provider's API (livechat_groups_tools/standin.py) on
loopback, where the demo messenger sends its messages; each line you type is posted to Odoo's
webhook as the provider would post it, signed; what Odoo sends the customer is printed.

    make run                                  # in one terminal: Odoo with the demo data
    make standin                              # in another: you are the customer
    python3 scripts/messenger_standin.py --help

Lines starting with "/file PATH" send a file (a document, or an image for .png/.jpg).
"""

import argparse
import json
import mimetypes
import pathlib
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from livechat_groups_tools.standin import DEFAULT_PORT, StandIn


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provider", choices=("whatsapp", "telegram"), default="whatsapp")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the stand-in's port")
    parser.add_argument("--odoo", default="http://localhost:8069", help="Odoo's address")
    parser.add_argument("--webhook-token", default="demo-whatsapp", help="the last part of the webhook URL")
    parser.add_argument("--token", default="standin-token", help="access token / bot token Odoo uses")
    parser.add_argument("--app-secret", default="standin-app-secret", help="WhatsApp: signs the webhooks")
    parser.add_argument("--webhook-secret", default="standin-webhook-secret", help="Telegram: secret_token")
    parser.add_argument("--phone-number-id", default="100200300")
    parser.add_argument("--customer", default="16505551234", help="WhatsApp wa_id, or Telegram chat id")
    parser.add_argument("--name", default="Carla Customer", help="the customer's profile name")
    parser.add_argument("--serve-only", action="store_true", help="answer Odoo's calls; read no input")
    args = parser.parse_args()

    standin = StandIn(
        args.provider,
        port=args.port,
        token=args.token,
        app_secret=args.app_secret,
        webhook_secret=args.webhook_secret,
        phone_number_id=args.phone_number_id,
    )
    printing = threading.Lock()

    def show(message):
        if args.provider == "whatsapp":
            kind = message.get("type")
            text = (
                (message.get("text") or {}).get("body")
                if kind == "text"
                else f"[{kind}] {json.dumps(message.get(kind))}"
            )
        else:
            text = message.get("text") or message.get("caption") or "[file]"
        with printing:
            print(f"\n  Odoo → customer: {text}\n> ", end="", flush=True)

    standin.on_message = show
    standin.start()
    webhook = f"{args.odoo.rstrip('/')}/livechat_groups/messenger/{args.webhook_token}"
    print(f"{args.provider} stand-in listening on {standin.api_base_url}; webhook: {webhook}")
    if args.serve_only:
        threading.Event().wait()
    print(f"You are {args.name} ({args.customer}). Type a message and Enter; Ctrl+D quits.")
    while True:
        try:
            line = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            continue
        media, text = None, line
        if line.startswith("/file "):
            path = pathlib.Path(line[len("/file ") :].strip()).expanduser()
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            media_id = standin.add_media(path.read_bytes(), mimetype, path.name)
            image = mimetype in ("image/png", "image/jpeg")
            if args.provider == "whatsapp":
                media = ("image" if image else "document", media_id)
            else:
                media = ("photo" if image else "document", media_id)
            text = ""
        if args.provider == "whatsapp":
            payload = standin.whatsapp_payload(args.customer, name=args.name, text=text, media=media)
        else:
            payload = standin.telegram_update(args.customer, first_name=args.name, text=text, media=media)
        try:
            status, body = standin.post_webhook(webhook, payload)
        except OSError as error:
            print(f"  Odoo is not reachable at {webhook}: {error}")
            continue
        if status != 200:
            print(f"  Odoo answered {status}: {body.decode(errors='replace')[:200]}")
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
