import functools
import json
import logging
import threading
import time
from datetime import timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..messengers.common import delivery_parts, events_of_part
from ..tools.cron_wakeup import notify_cron_trigger

_logger = logging.getLogger(__name__)

ADMIN = "im_livechat.im_livechat_group_manager"
# a delivery that fails this many times waits for an administrator (the Retry button)
MAX_ATTEMPTS = 5
# a run of the processing gives the scheduler back its worker after this long (seconds); what
# is left is said as its remaining work, which makes the scheduler run it again at once
RUN_SECONDS = 60
# the errors of a transaction that lost a race (another worker changed the same rows): the
# delivery is processed again in a new transaction, not counted as a failed attempt
CONCURRENCY_ERRORS = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)
# a transaction of the processing takes up to this many deliveries, of as many conversations:
# one claim and one commit for them all, and the records they share (the account, its live
# chat and groups) read once
BATCH_SIZE = 10
# processed deliveries are kept this long (days): a replay of one is then still recognised
KEEP_DAYS = 7
# the scheduled actions that process deliveries side by side when they pile up: Odoo runs one
# job in one cron worker at a time, so each lane is a job of its own (the webhook wakes the
# first; a run that finds more than LANE_BACKLOG due deliveries wakes the others)
LANES = ("ir_cron_livechat_messenger_process", "ir_cron_livechat_messenger_process_2")
LANE_BACKLOG = 20


class LivechatMessengerDelivery(models.Model):
    """What the messengers' webhook received, kept until it is processed.

    The webhook checks the provider's signature, keeps the delivery in one statement and
    answers at once: the provider, which retries a slow answer, never waits for routing, for
    the customer's matching or for media downloads. The scheduled action processes the
    deliveries right after, each in its own transaction, in order within a conversation.

    A delivery holds one conversation's events of a webhook (a webhook that brings several
    conversations is kept as one delivery each, and its statuses as one more): its
    ``event_key``, a digest of the provider's ids, makes a replay of the same events a no-op.
    """

    _name = "livechat.messenger.delivery"
    _description = "Live Chat Messenger Delivery"
    _order = "id desc"
    _rec_name = "chat_key"

    messenger_id = fields.Many2one(
        comodel_name="livechat.messenger", required=True, readonly=True, index=True, ondelete="cascade"
    )
    chat_key = fields.Char(
        string="Conversation",
        readonly=True,
        help="The customer's conversation (WhatsApp number, Telegram chat); empty for delivery statuses.",
    )
    event_key = fields.Char(required=True, readonly=True)
    payload = fields.Text(readonly=True, help="The webhook's body, as received (emptied once processed).")
    state = fields.Selection(
        selection=[("pending", "To Process"), ("done", "Processed"), ("failed", "Failed")],
        required=True,
        default="pending",
        readonly=True,
    )
    attempt_count = fields.Integer(string="Attempts", default=0, readonly=True)
    next_attempt_date = fields.Datetime(string="Next Attempt", readonly=True)
    processed_date = fields.Datetime(readonly=True)
    error = fields.Text(readonly=True, help="Why the last attempt failed.")

    _sql_constraints = [
        ("event_key_unique", "UNIQUE(messenger_id, event_key)", "A delivery is kept once."),
    ]

    def init(self):
        res = super().init()
        # the processing claims the due deliveries, which stay few as the processed ones grow
        create_index(
            self.env.cr,
            "livechat_messenger_delivery_pending_index",
            self._table,
            ["next_attempt_date", "id"],
            where="state = 'pending'",
        )
        # the claim's order check: an older delivery of the same conversation still to process
        create_index(
            self.env.cr,
            "livechat_messenger_delivery_chat_index",
            self._table,
            ["messenger_id", "chat_key", "id"],
            where="state = 'pending'",
        )
        return res

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_retry(self):
        """An administrator has a failed delivery processed again (once what it needed is fixed)."""
        # only Live Chat administrators read deliveries (the access rights), and retry them
        self.check_access("read")
        if not self.env.user.has_group(ADMIN):
            raise AccessError(self.env._("Only a Live Chat administrator retries a messenger delivery."))
        failed = self.filtered(lambda delivery: delivery.state == "failed")
        # sudo: livechat.messenger.delivery - its fields are the processing's, never typed in
        failed.sudo().write(
            {"state": "pending", "attempt_count": 0, "next_attempt_date": False, "error": False}
        )
        if failed:
            self._messenger_process_cron()._trigger()
        return True

    # ------------------------------------------------------------
    # Intake
    # ------------------------------------------------------------

    @api.model
    def _messenger_store(self, messenger, raw_body, messages, statuses):
        """Keep what a signed webhook brought, in one statement: a replay is skipped by the
        unique key. The same statement triggers the processing (see :meth:`_messenger_wake`).

        :return: the number of deliveries kept (0 for a replay, or a webhook with no event)
        """
        parts = delivery_parts(messages, statuses)
        if not parts:
            return 0
        # decoded as the JSON parser did: the parse that accepted it succeeds again
        payload = raw_body.decode(json.detect_encoding(raw_body), "surrogatepass")
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(f"livechat_groups.{LANES[0]}") or None
        # SQL: one INSERT ... ON CONFLICT: a replay (or a retry racing the first delivery) is
        # skipped without an error, and the webhook's transaction holds this statement only.
        # The processing's trigger is kept by the same statement when a delivery is, as
        # ir.cron._trigger() would (an inactive job is not triggered), without its five
        # queries: committed with the delivery, so a run whose snapshot misses the delivery
        # misses its trigger too, and keeps it (ir.cron deletes the triggers it saw)
        rows = self.env.execute_query(
            SQL(
                """
                WITH kept AS (
                    INSERT INTO livechat_messenger_delivery
                           (messenger_id, chat_key, event_key, payload, state, attempt_count,
                            create_uid, write_uid, create_date, write_date)
                    VALUES %s
               ON CONFLICT (messenger_id, event_key) DO NOTHING
                 RETURNING id
                ), woken AS (
                    INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date)
                    SELECT cron.id, NOW() AT TIME ZONE 'UTC', %s, %s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC'
                      FROM ir_cron cron
                     WHERE cron.id = %s AND cron.active AND EXISTS (SELECT 1 FROM kept)
                 RETURNING id
                )
                SELECT kept.id, (SELECT count(*) FROM woken) FROM kept
                """,
                SQL(", ").join(
                    SQL(
                        "(%s, %s, %s, %s, 'pending', 0, %s, %s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')",
                        messenger.id,
                        chat_key,
                        event_key,
                        payload,
                        self.env.uid,
                        self.env.uid,
                    )
                    for chat_key, event_key in parts
                ),
                self.env.uid,
                self.env.uid,
                cron_id,
            )
        )
        if rows and rows[0][1]:
            self._messenger_wake()
        return len(rows)

    @api.model
    def _messenger_wake(self):
        """After the commit, wake the scheduler's workers as ``ir.cron._trigger()`` does
        (``NOTIFY cron_trigger``), on a connection kept open (see :mod:`..tools.cron_wakeup`)."""
        dbname = self.env.cr.dbname
        self.env.cr.postcommit.add(functools.partial(notify_cron_trigger, dbname))

    # ------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------

    @api.model
    def _cron_process(self, auto_commit=None, max_seconds=RUN_SECONDS):
        """The scheduled action: process the due deliveries, in batches of up to
        :data:`BATCH_SIZE` (one transaction each, each delivery in a savepoint of its own).

        The deliveries of a batch are claimed with their rows locked (``FOR UPDATE SKIP
        LOCKED``): another run skips them, and a worker killed while it processes leaves the
        batch to process, whole, by the next run (its transaction is rolled back: nothing of
        it stays). A delivery whose conversation has an older one still to process, or being
        processed, waits for it: a batch holds one delivery of a conversation at most.

        :param bool auto_commit: commit after each batch (the scheduler's run); by default,
            unless the thread is a test's
        :return: the deliveries this run handled (processed, retried later, or failed)
        """
        if auto_commit is None:
            auto_commit = not getattr(threading.current_thread(), "testing", False)
        cr = self.env.cr
        started = time.monotonic()
        handled = self.browse()
        lost_races = 0
        if self._messenger_due_count() > LANE_BACKLOG:
            # woken at the first commit below
            for cron in self._messenger_process_crons()[1:]:
                cron._trigger()
        while time.monotonic() - started < max_seconds:
            try:
                # the claim too: a delivery changed by another worker since this transaction
                # began fails to lock (REPEATABLE READ)
                batch = self._messenger_claim(limit=BATCH_SIZE)
                if not batch:
                    break
                for delivery in batch:
                    delivery._messenger_process_guarded()
            except psycopg2.OperationalError as error:
                if not auto_commit or error.pgcode not in CONCURRENCY_ERRORS or lost_races >= 10:
                    raise
                # another worker changed the same rows: this transaction's snapshot is stale,
                # so the batch is processed again in a new one (no attempt counted)
                lost_races += 1
                cr.rollback()
                self.env.invalidate_all()
                continue
            handled |= batch
            if auto_commit:
                # the scheduler's run only: each batch is its own unit
                cr.commit()  # pylint: disable=invalid-commit
                self.env.invalidate_all()
        self._messenger_purge()
        self.env["ir.cron"]._notify_progress(done=len(handled), remaining=self._messenger_due_count())
        return handled

    @api.model
    def _messenger_due_count(self):
        return self.search_count(
            [
                ("state", "=", "pending"),
                "|",
                ("next_attempt_date", "=", False),
                ("next_attempt_date", "<=", fields.Datetime.now()),
            ]
        )

    @api.model
    def _messenger_claim(self, limit=1):
        """Lock the next due deliveries (``limit`` at most) whose conversation has no older
        one to process: one of a conversation at most, as its younger ones have it to wait for.

        :return: the deliveries, oldest first, or an empty recordset
        """
        self.env.flush_all()
        # SQL: SKIP LOCKED, and the older delivery of the same conversation, which the ORM
        # cannot say. An older one being processed is still 'pending' (its transaction holds
        # it): the younger waits for its commit.
        rows = self.env.execute_query(
            SQL(
                """
                SELECT d.id FROM livechat_messenger_delivery d
                 WHERE d.state = 'pending'
                   AND (d.next_attempt_date IS NULL OR d.next_attempt_date <= %(now)s)
                   AND (d.chat_key IS NULL OR d.chat_key = '' OR NOT EXISTS (
                        SELECT 1 FROM livechat_messenger_delivery older
                         WHERE older.messenger_id = d.messenger_id AND older.chat_key = d.chat_key
                           AND older.state = 'pending' AND older.id < d.id))
              ORDER BY d.id
                 LIMIT %(limit)s
                   FOR UPDATE OF d SKIP LOCKED
                """,
                now=fields.Datetime.now(),
                limit=limit,
            )
        )
        return self.browse([row[0] for row in rows])

    def _messenger_process_guarded(self):
        """Process this claimed delivery; an error rolls back its work alone and counts an
        attempt: it is tried again later, and after :data:`MAX_ATTEMPTS` it waits, failed,
        for an administrator. A lost race (see :data:`CONCURRENCY_ERRORS`) is raised."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._messenger_process()
        except psycopg2.OperationalError as error:
            if error.pgcode in CONCURRENCY_ERRORS:
                raise
            self._messenger_failed_attempt(error)
        except Exception as error:  # one delivery's error never blocks the others
            self._messenger_failed_attempt(error)
        else:
            self.write(
                {
                    "state": "done",
                    "payload": False,
                    "error": False,
                    "processed_date": fields.Datetime.now(),
                }
            )

    def _messenger_process(self):
        """What this delivery brings, applied: parsed, its messages posted to their sessions,
        its statuses applied (see ``livechat.messenger._messenger_receive``)."""
        messenger = self.messenger_id
        messages, statuses = messenger._messenger_parse(self.payload)
        messenger._messenger_receive(*events_of_part(messages, statuses, self.chat_key or ""))

    def _messenger_failed_attempt(self, error):
        self.invalidate_recordset()
        _logger.warning(
            "livechat messenger delivery %s: attempt %s failed",
            self.id,
            self.attempt_count + 1,
            exc_info=error,
        )
        attempts = self.attempt_count + 1
        vals = {"attempt_count": attempts, "error": f"{type(error).__name__}: {error}"}
        if attempts >= MAX_ATTEMPTS:
            vals.update(state="failed", next_attempt_date=False)
        else:
            vals["next_attempt_date"] = fields.Datetime.now() + timedelta(
                seconds=min(10 * 4 ** (attempts - 1), 3600)
            )
        self.write(vals)
        if vals.get("next_attempt_date"):
            self._messenger_process_cron()._trigger(vals["next_attempt_date"])

    @api.model
    def _messenger_purge(self):
        """Forget the deliveries processed more than :data:`KEEP_DAYS` days ago."""
        self.env.execute_query(
            SQL(
                "DELETE FROM livechat_messenger_delivery WHERE state = 'done' AND processed_date < %s",
                fields.Datetime.now() - timedelta(days=KEEP_DAYS),
            )
        )

    @api.model
    def _messenger_process_cron(self):
        return self.env.ref(f"livechat_groups.{LANES[0]}")

    @api.model
    def _messenger_process_crons(self):
        """The scheduled actions of every lane (see :data:`LANES`), the first first."""
        crons = (self.env.ref(f"livechat_groups.{lane}", raise_if_not_found=False) for lane in LANES)
        return [cron for cron in crons if cron]
