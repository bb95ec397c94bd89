"""Webhook intake benchmark: WhatsApp customers writing at once to a multi-worker Odoo.

Builds its own database (no demo data) with a grouped live chat, its operators online and a
WhatsApp messenger; starts Odoo with 4 workers on loopback; then 30 senders (one customer each)
post signed webhooks as Meta does, one after the other, every tenth one delivered twice. Prints
the intake answer's p50 and p95 and the messages per second, then checks in the database that
every message was kept once: no loss, no duplicate, one session per customer.

Usage: python bench/bench_webhook.py [--senders 30] [--messages 20] [--workers 4]
(environment: ODOO_SRC, ADDONS_PATH, BENCH_WEBHOOK_DB, BENCH_WEBHOOK_PORT; run by `make bench`).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from livechat_groups_tools import harness
from livechat_groups_tools.harness import sql

DB = os.environ.get("BENCH_WEBHOOK_DB", "livechat_groups_bench_webhook")
PORT = int(os.environ.get("BENCH_WEBHOOK_PORT", "8369"))
BASE = f"http://127.0.0.1:{PORT}"
WEBHOOK = f"{BASE}/livechat_groups/messenger/bench-whatsapp"
APP_SECRET = "bench-secret"

SETUP = f"""
from odoo import Command
users = env["res.users"].create([
    {{"name": f"Bench Support {{i}}", "login": f"bench_support{{i}}",
      "groups_id": [Command.link(env.ref("base.group_user").id)]}}
    for i in range(10)
])
for user in users:
    env["bus.presence"].create({{"user_id": user.id, "status": "online"}})
group = env["livechat.group"].create({{"name": "Bench Support", "user_ids": [Command.set(users.ids)]}})
livechat = env["im_livechat.channel"].create({{
    "name": "Bench Live Chat", "user_ids": [Command.clear()], "entry_group_ids": [Command.set(group.ids)],
}})
env["livechat.messenger"].create({{
    "name": "Bench WhatsApp", "livechat_channel_id": livechat.id, "app_secret": "{APP_SECRET}",
    "access_token": "bench", "phone_number_id": "1", "webhook_token": "bench-whatsapp",
    "api_base_url": "http://127.0.0.1:9/v21.0",
}})
env.cr.commit()
"""


def post(session, wa_id, wamid, text):
    started = time.perf_counter()
    response = harness.post_whatsapp(
        session, WEBHOOK, APP_SECRET, wa_id, wamid, text, f"Bench customer {wa_id}"
    )
    return response.status_code, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=30)
    parser.add_argument("--messages", type=int, default=20, help="per sender")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    harness.build_database(DB, SETUP)
    with tempfile.NamedTemporaryFile(prefix="odoo-bench-webhook-", suffix=".log", delete=False) as log:
        server = harness.start_server(DB, PORT, args.workers, log)
        try:
            harness.wait_until_up(BASE, log.name)
            barrier = threading.Barrier(args.senders)

            def sender(index):
                session = requests.Session()
                wa_id = f"1555{index:07d}"
                timings, statuses = [], []
                barrier.wait()
                for n in range(args.messages):
                    wamid = f"wamid.bench.{index}.{n}"
                    deliveries = 2 if n % 10 == 9 else 1  # Meta delivers again: a repeat
                    for _ in range(deliveries):
                        status, elapsed = post(session, wa_id, wamid, f"message {n} of {wa_id}")
                        timings.append(elapsed)
                        statuses.append(status)
                return timings, statuses

            started = time.perf_counter()
            with ThreadPoolExecutor(args.senders) as pool:
                results = list(pool.map(sender, range(args.senders)))
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=60)

    timings = sorted(t for result in results for t in result[0])
    statuses = [s for result in results for s in result[1]]
    expected = args.senders * args.messages
    kept = int(sql(DB, "select count(*) from livechat_messenger_message where direction = 'in'"))
    posted = int(
        sql(
            DB,
            "select count(*) from mail_message m join discuss_channel c on c.id = m.res_id"
            " where m.model = 'discuss.channel' and c.livechat_messenger_id is not null"
            " and m.message_type = 'comment' and m.author_id = c.livechat_messenger_partner_id",
        )
    )
    distinct = int(
        sql(
            DB,
            "select count(distinct (m.res_id, m.body)) from mail_message m join discuss_channel c on c.id = m.res_id"
            " where m.model = 'discuss.channel' and c.livechat_messenger_id is not null"
            " and m.message_type = 'comment' and m.author_id = c.livechat_messenger_partner_id",
        )
    )
    sessions = int(sql(DB, "select count(*) from discuss_channel where livechat_messenger_id is not null"))
    retries = harness.retries_in(harness.read_log(log.name)[0])[0]
    p50 = statistics.median(timings) * 1000
    p95 = timings[int(len(timings) * 0.95) - 1] * 1000
    print(
        f"\nWebhook intake, {args.senders} concurrent WhatsApp senders, {args.workers} workers, "
        f"{len(timings)} deliveries ({len(timings) - expected} repeats)"
    )
    print("| p50 answer | p95 answer | messages/s | answers 200 | kept | duplicates | sessions | retries |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {p50:.0f} ms | {p95:.0f} ms | {expected / wall:.1f} | {statuses.count(200)}/{len(statuses)} "
        f"| {posted}/{expected} | {posted - distinct} | {sessions}/{args.senders} | {retries} |"
    )
    ok = (
        statuses.count(200) == len(statuses)
        and kept == posted == distinct == expected
        and sessions == args.senders
    )
    print("no loss, no duplicate" if ok else f"FAILED: see {log.name}; answers {sorted(set(statuses))}")
    subprocess.run(["dropdb", "--if-exists", DB], check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
