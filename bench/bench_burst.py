"""Burst benchmark: many website visitors starting a live chat at once, stock against grouped.

Builds (once; again when the addon's code changed) its own database with 20 operators online, a
stock live chat (the 20 as its operators) and a grouped one (one entry group of the same 20, at
most 5 sessions each). Starts Odoo with 4 workers, then, for each number of visitors and each
live chat, sends every visitor's /im_livechat/get_session (what the website widget posts when
the visitor sends the first message) through a pool of 30 concurrent clients, as a reverse
proxy's upstream limit would. Prints wall time, sessions per second, p50/p95 latency, Odoo's
concurrency retries (and those that ran out of tries), errors, and the database's figures:
sessions assigned and queued, the busiest operator. Checks the guarantees (never above capacity,
one session per visitor, nothing lost) and prints where the conflicts happened: the statement,
the error and the code path that issued it (livechat_groups_tools/harness.py traces them). Each
run starts from the same state: the sessions of the previous one are deleted.

Usage: python bench/bench_burst.py [--visitors 200 500] [--concurrency 30] [--workers 4]
       [--sequential 20]
(environment: ODOO_SRC, ADDONS_PATH, BENCH_BURST_DB, BENCH_BURST_PORT; run by `make bench`).
Exits 1 when a guarantee is broken or a request failed.
"""

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from livechat_groups_tools import harness
from livechat_groups_tools.harness import ROOT, LockWaits, odoo, read_log, sql

DB = os.environ.get("BENCH_BURST_DB", "livechat_groups_bench_burst")
PORT = int(os.environ.get("BENCH_BURST_PORT", "8379"))
BASE = f"http://127.0.0.1:{PORT}"
OPERATORS = 20
CAPACITY = 5
SIDES = ("stock", "grouped")

SETUP = f"""
from odoo import Command
users = env["res.users"].with_context(no_reset_password=True).create([
    {{"name": f"Burst Operator {{i}}", "login": f"burst_op_{{i}}",
      "groups_id": [Command.link(env.ref("base.group_user").id)]}}
    for i in range({OPERATORS})
])
for user in users:
    env["bus.presence"].create({{"user_id": user.id, "status": "online"}})
    # an online operator's web client has created their settings row
    env["res.users.settings"]._find_or_create_for_user(user)
group = env["livechat.group"].create({{"name": "Burst Entry", "user_ids": [Command.set(users.ids)]}})
stock = env["im_livechat.channel"].create({{"name": "Burst Stock", "user_ids": [Command.set(users.ids)]}})
grouped = env["im_livechat.channel"].create({{
    "name": "Burst Grouped", "user_ids": [Command.clear()],
    "entry_group_ids": [Command.set(group.ids)], "max_sessions_per_operator": {CAPACITY},
}})
env["ir.config_parameter"].set_param("livechat_groups.bench_burst_ids", f"{{stock.id}},{{grouped.id}}")
env.cr.commit()
"""

# Every run starts with no live chat session, no guest, no bus message, every operator at 0
# (the sessions' own rows go with them: members, hops). A routing that keeps a figure of its own
# per operator elsewhere must reset it here too.
CLEAN = """
DELETE FROM mail_message WHERE model = 'discuss.channel'
   AND res_id IN (SELECT id FROM discuss_channel WHERE channel_type = 'livechat');
DELETE FROM discuss_channel WHERE channel_type = 'livechat';
DELETE FROM mail_guest;
DELETE FROM bus_bus;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'res_users_settings'
                  AND column_name = 'livechat_last_assigned_date') THEN
        UPDATE res_users_settings SET livechat_last_assigned_date = NULL;
    END IF;
END $$;
"""


def addon_hash():
    digest = hashlib.sha256()
    for folder, _dirs, files in sorted(os.walk(os.path.join(ROOT, "livechat_groups"))):
        for name in sorted(files):
            if name.endswith((".py", ".xml", ".csv")):
                with open(os.path.join(folder, name), "rb") as source:
                    digest.update(name.encode() + source.read())
    return digest.hexdigest()[:16]


def prepare_database():
    """Build the database once; update the addon in it when its code changed since."""
    wanted = addon_hash()
    built = harness.database_exists(DB) and sql(
        DB, "select value from ir_config_parameter where key='livechat_groups.bench_burst_ids'"
    )
    if not built:
        harness.build_database(DB, SETUP)
    elif (
        sql(DB, "select value from ir_config_parameter where key='livechat_groups.bench_burst_hash'")
        != wanted
    ):
        print(f"updating livechat_groups in {DB} (its code changed) ...", flush=True)
        odoo(DB, "-u", "livechat_groups", "--stop-after-init", "--log-level=warn")
    sql(
        DB,
        "INSERT INTO ir_config_parameter (key, value) VALUES ('livechat_groups.bench_burst_hash', "
        f"'{wanted}') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    )
    ids = sql(DB, "select value from ir_config_parameter where key='livechat_groups.bench_burst_ids'")
    return dict(zip(SIDES, map(int, ids.split(",")), strict=True))


def get_session(channel_id, name):
    """One new visitor's first message: ``(ok, error, seconds, session id)``."""
    started = time.perf_counter()
    try:
        response = requests.post(
            f"{BASE}/im_livechat/get_session",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "channel_id": channel_id,
                    "anonymous_name": name,
                    "previous_operator_id": None,
                    "persisted": True,
                },
            },
            timeout=300,
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            return False, f"HTTP {response.status_code}", elapsed, None
        data = response.json()
    except requests.RequestException as error:
        return False, type(error).__name__, time.perf_counter() - started, None
    if "error" in data:
        return False, data["error"]["data"]["name"], elapsed, None
    if not data["result"]:
        return False, "no session", elapsed, None
    return True, None, elapsed, data["result"]["discuss.channel"][0]["id"]


def burst(side, channel_id, visitors, concurrency):
    """``visitors`` get_session on ``channel_id``, ``concurrency`` at a time: a row of figures."""
    waits = LockWaits(DB)
    waits.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(
            pool.map(
                lambda i: get_session(channel_id, f"Burst {side} {visitors} visitor {i}"), range(visitors)
            )
        )
    wall = time.perf_counter() - started
    waits = waits.stop()
    timings = sorted(elapsed for _ok, _error, elapsed, _id in answers)
    session_ids = [session_id for ok, _error, _elapsed, session_id in answers if ok]
    states = dict(
        line.split("|")
        for line in sql(DB, f"select coalesce(livechat_routing_state, 'stock'), count(*) from discuss_channel where livechat_channel_id={channel_id} group by 1").splitlines()
    )  # fmt: skip
    busiest = int(
        sql(
            DB,
            "select coalesce(max(n), 0) from (select count(*) n from discuss_channel"
            f" where livechat_channel_id={channel_id} and livechat_active"
            f" and coalesce(livechat_routing_state, 'assigned') = 'assigned' group by livechat_operator_id) t",
        )
    )
    sessions, names = map(
        int,
        sql(
            DB,
            f"select count(*), count(distinct anonymous_name) from discuss_channel where livechat_channel_id={channel_id}",
        ).split("|"),
    )
    return {
        "side": side,
        "visitors": visitors,
        "wall": wall,
        "rate": len(session_ids) / wall,
        "p50": statistics.median(timings) * 1000,
        "p95": timings[max(int(len(timings) * 0.95) - 1, 0)] * 1000,
        "errors": Counter(error for ok, error, _elapsed, _id in answers if not ok),
        "answered": len(session_ids),
        "distinct": len(set(session_ids)),
        "sessions": sessions,
        "names": names,
        "assigned": int(states.get("assigned", 0)) + int(states.get("stock", 0)),
        "queued": int(states.get("queued", 0)),
        "busiest": busiest,
        "waits": waits,
    }


def guarantees(row):
    """The broken guarantees of a run (empty when all hold)."""
    n = row["visitors"]
    broken = []
    if row["errors"]:
        broken.append(f"errors {dict(row['errors'])}")
    if not (row["answered"] == row["distinct"] == row["sessions"] == row["names"] == n):
        broken.append(
            f"one session per visitor: {row['answered']} answered, {row['distinct']} distinct, "
            f"{row['sessions']} in the database for {row['names']} visitors, of {n}"
        )
    if row["assigned"] + row["queued"] != n:
        broken.append(f"assigned {row['assigned']} + queued {row['queued']} != {n}")
    if row["side"] == "grouped":
        if row["busiest"] > CAPACITY:
            broken.append(f"an operator holds {row['busiest']} > {CAPACITY}")
        if row["assigned"] != min(n, OPERATORS * CAPACITY):
            broken.append(
                f"assigned {row['assigned']}, capacity {OPERATORS * CAPACITY}: a free seat was lost"
            )
    return broken


def sequential(channel_ids, count, log_name, offset):
    """``count`` get_session one after the other on each side: p50 ms and queries per request."""
    rows = {}
    # each worker loads its caches (views, translations, ACLs) on its first requests
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: get_session(list(channel_ids.values())[i % 2], f"Warm {i}"), range(16)))
    _lines, offset = read_log(log_name, offset)
    for side, channel_id in channel_ids.items():
        sql(DB, CLEAN)
        timings = [get_session(channel_id, f"Alone {side} {i}")[2] for i in range(count)]
        lines, offset = read_log(log_name, offset)
        perf = [line.split()[-3:] for line in lines if "POST /im_livechat/get_session" in line]
        rows[side] = (
            statistics.median(timings) * 1000,
            statistics.median(int(queries) for queries, _sql_time, _rest in perf) if perf else 0,
            statistics.median(float(sql_time) * 1000 for _queries, sql_time, _rest in perf) if perf else 0,
        )
    sql(DB, CLEAN)
    return rows, offset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--concurrency", type=int, default=30, help="clients at once (a proxy's limit)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sequential", type=int, default=20, help="lone requests per side, for reference")
    args = parser.parse_args()

    channel_ids = prepare_database()
    sql(DB, CLEAN)
    rows, conflicts = [], {}
    with tempfile.NamedTemporaryFile(prefix="odoo-bench-burst-", suffix=".log", delete=False) as log:
        server = harness.start_server(DB, PORT, args.workers, log)
        try:
            harness.wait_until_up(BASE, log.name)
            _lines, offset = read_log(log.name, 0)
            alone, offset = sequential(channel_ids, args.sequential, log.name, offset)
            for visitors in args.visitors:
                for side in SIDES:
                    sql(DB, CLEAN)
                    row = burst(side, channel_ids[side], visitors, args.concurrency)
                    lines, offset = read_log(log.name, offset)
                    row["retries"], row["exhausted"], row["by_try"], row["sleep"] = harness.retries_in(lines)
                    conflicts[(side, visitors)] = harness.conflicts_in(lines)
                    rows.append(row)
            sql(DB, CLEAN)
        finally:
            server.terminate()
            server.wait(timeout=60)

    print(
        f"\nBurst: new visitors' get_session through {args.concurrency} concurrent clients, "
        f"{args.workers} workers, {OPERATORS} operators online (grouped: at most {CAPACITY} sessions each)"
    )
    print(
        "| live chat | visitors | wall | sessions/s | p50 | p95 | retries (1st/2nd/3rd/4th) | retry sleep "
        "| exhausted | errors | assigned | queued | busiest operator |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    failed = []
    for row in rows:
        errors = sum(row["errors"].values())
        print(
            f"| {row['side']} | {row['visitors']} | {row['wall']:.1f} s | {row['rate']:.1f} | {row['p50']:.0f} ms "
            f"| {row['p95']:.0f} ms | {row['retries']} ({'/'.join(str(row['by_try'][n]) for n in range(1, 5))}) "
            f"| {row['sleep']:.1f} s | {row['exhausted']} | {errors} | {row['assigned']} "
            f"| {row['queued']} | {row['busiest']} |"
        )
        failed += [f"{row['side']} {row['visitors']}: {problem}" for problem in guarantees(row)]
    for visitors in args.visitors:
        stock, grouped = (
            next(r for r in rows if r["side"] == s and r["visitors"] == visitors) for s in SIDES
        )
        print(f"{visitors} visitors: grouped/stock wall time {grouped['wall'] / stock['wall']:.2f}")
    print("\nOne get_session at a time (reference)")
    print("| live chat | p50 | queries | SQL time |")
    print("|---|---|---|---|")
    for side, (p50, queries, sql_time) in alone.items():
        print(f"| {side} | {p50:.0f} ms | {queries:.0f} | {sql_time:.0f} ms |")
    print("\nConflicts (statement that failed, error, code path innermost first)")
    print("| live chat | visitors | count | error | statement | code path |")
    print("|---|---|---|---|---|---|")
    for (side, visitors), found in conflicts.items():
        for (error, statement, path), count in found.most_common():
            print(f"| {side} | {visitors} | {count} | {error} | `{statement}` | {path} |")
    if not any(conflicts.values()):
        print("| - | - | 0 | - | - | - |")
    print("\nLock waits (sampled every 20 ms; see harness.LockWaits)")
    print("| live chat | visitors | samples | lock awaited | table of the row |")
    print("|---|---|---|---|---|")
    for row in rows:
        for (lock, table), count in row["waits"].most_common(6):
            print(f"| {row['side']} | {row['visitors']} | {count} | {lock} | {table} |")
    if not any(row["waits"] for row in rows):
        print("| - | - | 0 | - | - |")
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed) + f"\nserver log: {log.name}")
        return 1
    print("guarantees hold: never above capacity, one session per visitor, nothing lost")
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
