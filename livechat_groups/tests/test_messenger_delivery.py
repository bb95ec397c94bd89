import json
import threading
import time
from datetime import timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry
from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.livechat_groups.models.livechat_messenger_delivery import LANE_BACKLOG, MAX_ATTEMPTS

from .common import CommitPoints, Killed, LivechatGroupsRpcMixin
from .messenger_common import LivechatMessengerCase

DELIVERY_LOG = "odoo.addons.livechat_groups.models.livechat_messenger_delivery"


@tagged("post_install", "-at_install")
class TestMessengerDelivery(LivechatMessengerCase, LivechatGroupsRpcMixin):
    """The webhook keeps what the provider delivers and answers at once; the scheduled action
    processes it right after, in order within a conversation, with retries, and leaves what it
    cannot process failed, for an administrator to retry."""

    def setUp(self):
        super().setUp()
        self._online(self.support_1)
        self.Delivery = self.env["livechat.messenger.delivery"]

    def _deliveries(self):
        return self.Delivery.search([("messenger_id", "=", self.messenger.id)], order="id")

    def _deliver(self, wa_id, text, **kwargs):
        """The provider delivers ``text`` of ``wa_id``; the webhook answers; nothing processed."""
        payload = self.standin.whatsapp_payload(wa_id, name="Carla Customer", text=text, **kwargs)
        response = self._post(payload, process=False)
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        return payload

    def test_answered_before_processed(self):
        self._deliver("16505551234", "Hello")
        delivery = self._deliveries()
        self.assertEqual((delivery.state, delivery.chat_key), ("pending", "16505551234"))
        self.assertFalse(self._session_of("16505551234"), "nothing is routed inside the webhook")
        self.assertIn(delivery, self._process())
        session = self._session_of("16505551234")
        self.assertEqual(self._texts(session)[0], "Hello")
        self.assertEqual(delivery.state, "done")
        self.assertFalse(delivery.payload, "a processed delivery keeps no copy of the customer's words")

    def test_media_not_downloaded_inside_the_webhook(self):
        media_id = self.standin.add_media(b"\x89PNG fake", "image/png", "photo.png")
        self._deliver("16505551234", "A photo", media=("image", media_id))
        self.assertFalse(
            [r for r in self.standin.requests if media_id in r.path], "the webhook downloads nothing"
        )
        self._process()
        self.assertTrue([r for r in self.standin.requests if media_id in r.path])
        session = self._session_of("16505551234")
        self.assertEqual(session.message_ids.attachment_ids.mapped("name"), ["photo.png"])

    def test_replay_kept_once(self):
        payload = self._deliver("16505551234", "Hello")
        self._post(payload, process=False)
        self.assertEqual(len(self._deliveries()), 1, "a replay is not kept again")
        self._process()
        # replayed again after it was processed: recognised, nothing posted twice
        self._post(payload)
        self.assertEqual(len(self._deliveries()), 1)
        self.assertEqual(self._texts(self._session_of("16505551234")).count("Hello"), 1)

    def test_statuses_take_the_same_path(self):
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234")
        session.with_user(self.support_1).message_post(
            body="Hi Carla", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._send()
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        status = self.standin.whatsapp_status(row.external_id, "delivered", "16505551234")
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]), process=False)
        self.assertEqual(row.state, "sent", "the status waits for the processing")
        delivery = self._deliveries()[-1]
        self.assertFalse(delivery.chat_key, "statuses belong to no conversation's order")
        self._process()
        self.assertEqual(row.state, "delivered")

    def test_a_conversation_in_order_while_others_go_on(self):
        # the first delivery of Carla fails once: her second waits behind it, Dan's goes on
        original = type(self.env["livechat.messenger"])._messenger_receive_message
        failures = []

        def fail_first(messenger, inbound):
            if inbound.text == "first" and not failures:
                failures.append(inbound)
                raise ValueError("the customer's server hiccupped")
            return original(messenger, inbound)

        self.patch(type(self.env["livechat.messenger"]), "_messenger_receive_message", fail_first)
        self._deliver("16505551234", "first")
        self._deliver("16505551234", "second")
        self._deliver("16505559999", "Dan here")
        with mute_logger(DELIVERY_LOG):
            self._process()
        first, second, dan = self._deliveries()
        self.assertEqual((first.state, first.attempt_count), ("pending", 1))
        self.assertIn("hiccupped", first.error)
        self.assertEqual(second.state, "pending", "never processed before the older one")
        self.assertEqual(dan.state, "done", "another conversation is not held back")
        self.assertFalse(self._session_of("16505551234"))
        with freeze_time(first.next_attempt_date + timedelta(seconds=1)):
            self._process()
        self.assertEqual((first.state, second.state), ("done", "done"))
        self.assertEqual(self._texts(self._session_of("16505551234"))[:2], ["first", "second"])

    def test_failed_after_attempts_and_retried_by_an_administrator_only(self):
        Messenger = type(self.env["livechat.messenger"])
        original = Messenger._messenger_receive_message

        def fail(messenger, inbound):
            raise ValueError("no route to the customer")

        self.patch(Messenger, "_messenger_receive_message", fail)
        self._deliver("16505551234", "Hello")
        delivery = self._deliveries()
        now = fields.Datetime.now()
        with mute_logger(DELIVERY_LOG):
            for attempt in range(MAX_ATTEMPTS):
                with freeze_time(now + timedelta(hours=attempt)):
                    self._process()
        self.assertEqual((delivery.state, delivery.attempt_count), ("failed", MAX_ATTEMPTS))
        self.assertIn("no route to the customer", delivery.error)
        with freeze_time(now + timedelta(days=1)):
            self._process()
        self.assertEqual(delivery.state, "failed", "a failed delivery waits for an administrator")

        # an operator (and a Live Chat user) cannot retry it, over JSON-RPC
        for user in (self.support_1, self.livechat_user):
            self._rpc_refused(
                "AccessError", None, user, "livechat.messenger.delivery", "action_retry", delivery.ids
            )
            self.assertEqual(delivery.state, "failed")
        # the administrator can, once what it needed is fixed
        self.patch(Messenger, "_messenger_receive_message", original)
        self._rpc(self.admin, "livechat.messenger.delivery", "action_retry", delivery.ids)
        self.env.invalidate_all()
        self.assertEqual((delivery.state, delivery.attempt_count, delivery.error), ("pending", 0, False))
        self._process()
        self.assertEqual(delivery.state, "done")
        self.assertEqual(self._texts(self._session_of("16505551234"))[0], "Hello")

    def test_worker_killed_while_processing_takes_the_delivery_once(self):
        self._deliver("16505551234", "Hello")
        self._deliver("16505551234", "Carla again")  # her second, in the next batch
        self._deliver("16505559999", "Dan here")
        original = type(self.env["livechat.messenger"])._messenger_receive

        def post_then_die(messenger, messages, statuses):
            original(messenger, messages, statuses)
            if any(message.text == "Carla again" for message in messages):
                raise Killed

        self.patch(type(self.env["livechat.messenger"]), "_messenger_receive", post_then_die)
        with CommitPoints(self) as commits:
            self.Delivery.with_user(SUPERUSER_ID)._cron_process(auto_commit=True)
        self.assertEqual(commits.commits, 1, "the first batch committed, Carla's first and Dan's")
        self.env.invalidate_all()
        carla, carla_again, dan = self._deliveries()
        self.assertEqual(
            (carla.state, dan.state, carla_again.state),
            ("done", "done", "pending"),
            "the batch being processed rolled back whole",
        )
        self.assertEqual(self._texts(self._session_of("16505551234")).count("Carla again"), 0)
        self.patch(type(self.env["livechat.messenger"]), "_messenger_receive", original)
        self._process()
        self.assertEqual(carla_again.state, "done")
        self.assertEqual(self._texts(self._session_of("16505559999")).count("Dan here"), 1)
        carla_texts = self._texts(self._session_of("16505551234"))
        self.assertEqual((carla_texts.count("Hello"), carla_texts.count("Carla again")), (1, 1))

    def test_deliveries_processed_in_batches(self):
        # one transaction for the oldest delivery of each conversation: Carla's second waits
        # for the next batch, after her first committed
        for wa_id, text in [("16505551234", "first"), ("16505551234", "second"), ("16505559999", "Dan")]:
            self._deliver(wa_id, text)
        self._deliver("16505558888", "Eve")
        with CommitPoints(self) as commits:
            handled = self.Delivery.with_user(SUPERUSER_ID)._cron_process(auto_commit=True)
        self.assertEqual(len(handled), 4)
        self.assertEqual(commits.commits, 2, "two batches, not a transaction per delivery")
        self.env.invalidate_all()
        self.assertEqual(set(self._deliveries().mapped("state")), {"done"})
        self.assertEqual(self._texts(self._session_of("16505551234"))[:2], ["first", "second"])
        self.assertEqual(self._texts(self._session_of("16505558888"))[0], "Eve")

    def test_malformed_kept_nowhere(self):
        with self.assertLogs("odoo.addons.livechat_groups.controllers.messenger", "WARNING"):
            response = self._post(b"not json", process=False)
        self.assertEqual(response.text, "Dropped")
        self.assertFalse(self._deliveries())

    def test_a_backlog_wakes_the_second_lane(self):
        lane_2 = self.env.ref("livechat_groups.ir_cron_livechat_messenger_process_2")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", lane_2.id)])

        def keep(count):
            for n in range(count):
                body = json.dumps(
                    self.standin.whatsapp_payload(f"1650555{n:04d}", text=f"Hello {count}")
                ).encode()
                self.Delivery._messenger_store(self.messenger, body, *self.messenger._messenger_parse(body))

        keep(LANE_BACKLOG)
        self.Delivery._cron_process(max_seconds=0)  # what a run does first, nothing processed
        self.assertFalse(Trigger.search([("cron_id", "=", lane_2.id)]) - before, "one lane is enough")
        keep(1)
        self.Delivery._cron_process(max_seconds=0)
        self.assertTrue(Trigger.search([("cron_id", "=", lane_2.id)]) - before, "the second lane woken")

    def test_webhook_triggers_the_processing(self):
        cron = self.env.ref("livechat_groups.ir_cron_livechat_messenger_process")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self._deliver("16505551234", "Hello")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers)


@tagged("post_install", "-at_install")
class TestMessengerDeliveryCommitted(BaseCase):
    """Real transactions, on the demo's WhatsApp account: what the webhook kept is committed
    before it answers, and processed by another worker from a fresh cursor; two processing runs
    at once keep a conversation in order."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self._env() as env:
            messenger = env.ref("livechat_groups.messenger_whatsapp", raise_if_not_found=False)
            if not messenger:
                self.skipTest("the demo's WhatsApp account is not installed")
            self.messenger_id = messenger.id
        self.chats = [
            f"1555{int(time.time() * 1000) % 10**7:07d}",
            f"1555{(int(time.time()) + 1) % 10**7:07d}9",
        ]
        self.addCleanup(self._cleanup)

    def _env(self):
        """An environment on a transaction of its own (committed when the block ends)."""
        test = self

        class Block:
            def __enter__(self):
                self.cr = db_connect(get_db_name()).cursor()
                self.cr.transaction = api.Transaction(test.registry)
                return api.Environment(self.cr, SUPERUSER_ID, {})

            def __exit__(self, exc_type, exc_value, traceback):
                if exc_type is None:
                    # a transaction of the test's own, committed as a worker's is
                    self.cr.commit()  # pylint: disable=invalid-commit
                self.cr.close()

        return Block()

    def _cleanup(self):
        with self._env() as env:
            sessions = env["discuss.channel"].search([("livechat_messenger_chat_id", "in", self.chats)])
            partners = sessions.livechat_messenger_partner_id
            env["livechat.messenger.message"].search([("session_id", "in", sessions.ids)]).unlink()
            env["livechat.messenger.chat"].search([("chat_id", "in", self.chats)]).unlink()
            sessions.unlink()
            partners.unlink()
            env["livechat.messenger.delivery"].search([("chat_key", "in", self.chats)]).unlink()

    def _store(self, chat, text):
        """The webhook's transaction: the delivery kept, committed, then the worker gone."""
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "1",
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {"display_phone_number": "1", "phone_number_id": "100200300"},
                                    "contacts": [{"profile": {"name": "Race"}, "wa_id": chat}],
                                    "messages": [
                                        {
                                            "from": chat,
                                            "id": f"wamid.{chat}.{text}",
                                            "timestamp": str(int(time.time())),
                                            "type": "text",
                                            "text": {"body": text},
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        with self._env() as env:
            messenger = env["livechat.messenger"].browse(self.messenger_id)
            messages, statuses = messenger._messenger_parse(body)
            env["livechat.messenger.delivery"]._messenger_store(messenger, body, messages, statuses)

    def _texts(self, env, chat):
        session = env["discuss.channel"].search([("livechat_messenger_chat_id", "=", chat)])
        return [
            message.preview
            for message in env["mail.message"].search(
                [
                    ("model", "=", "discuss.channel"),
                    ("res_id", "in", session.ids),
                    ("message_type", "=", "comment"),
                ],
                order="id",
            )
            if message.author_id == session.livechat_messenger_partner_id
        ]

    def test_kept_delivery_processed_from_a_fresh_cursor(self):
        self._store(self.chats[0], "Hello")
        # the worker that answered is gone; another one, with a cursor of its own, processes
        with self._env() as env:
            env["livechat.messenger.delivery"]._cron_process(auto_commit=True)
        with self._env() as env:
            self.assertEqual(self._texts(env, self.chats[0]), ["Hello"])
            delivery = env["livechat.messenger.delivery"].search([("chat_key", "=", self.chats[0])])
            self.assertEqual(delivery.state, "done")

    def test_a_delivery_changed_since_the_run_began_is_claimed_again(self):
        # the other lane changed the delivery after this run's snapshot: locking it fails to
        # serialize; the run begins a new transaction and processes it, without an error
        self._store(self.chats[0], "Hello")
        with self._env() as env, self._env() as other:
            env.cr.execute("SELECT 1")  # this run's transaction began: its snapshot is taken
            other.cr.execute(
                "UPDATE livechat_messenger_delivery SET write_date = NOW() WHERE chat_key = %s",
                [self.chats[0]],
            )
            other.cr.commit()
            with mute_logger("odoo.sql_db"):
                env["livechat.messenger.delivery"]._cron_process(auto_commit=True)
        with self._env() as env:
            self.assertEqual(self._texts(env, self.chats[0]), ["Hello"])

    def test_a_second_run_skips_a_conversation_being_processed(self):
        carla, dan = self.chats
        self._store(carla, "first")
        self._store(carla, "second")
        self._store(dan, "Dan here")
        with self._env() as env_a, self._env() as env_b:
            first = env_a["livechat.messenger.delivery"]._messenger_claim()
            self.assertEqual(first.chat_key, carla)
            # the other run skips Carla's first (locked) and her second (an older one is pending)
            Delivery_b = env_b["livechat.messenger.delivery"]
            other = Delivery_b._messenger_claim()
            self.assertEqual(other.chat_key, dan)
            other._messenger_process_guarded()
            self.assertFalse(Delivery_b._messenger_claim(), "Carla's second waits for her first")
            env_b.cr.rollback()  # Dan's is processed again below
            first._messenger_process_guarded()
        with self._env() as env:
            env["livechat.messenger.delivery"]._cron_process(auto_commit=True)
        with self._env() as env:
            self.assertEqual(self._texts(env, carla), ["first", "second"])
            self.assertEqual(self._texts(env, dan), ["Dan here"])

    def test_two_runs_at_once_keep_each_conversation_in_order(self):
        carla, dan = self.chats
        for n in range(5):
            self._store(carla, f"carla {n}")
            self._store(dan, f"dan {n}")
        Messenger = self.registry["livechat.messenger"]
        original = Messenger._messenger_receive

        def slow_receive(messenger, messages, statuses):
            time.sleep(0.05)  # the two runs overlap
            return original(messenger, messages, statuses)

        self.patch(Messenger, "_messenger_receive", slow_receive)
        errors = []

        def run():
            try:
                with self._env() as env:
                    env["livechat.messenger.delivery"]._cron_process(auto_commit=True)
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse(errors)
        with self._env() as env:
            self.assertEqual(self._texts(env, carla), [f"carla {n}" for n in range(5)])
            self.assertEqual(self._texts(env, dan), [f"dan {n}" for n in range(5)])

    def test_a_delivery_kept_while_the_run_ends_is_processed(self):
        # the scheduler runs the processing (its trigger seen), which finds nothing more; the
        # webhook keeps a delivery just then, before the run deletes the triggers it saw:
        # the delivery's own trigger, committed with it, outlives the run, which runs again
        carla = self.chats[0]
        IrCron = self.registry["ir.cron"]
        with self._env() as env:
            cron_id = env.ref("livechat_groups.ir_cron_livechat_messenger_process").id
        self._store(carla, "first")
        Delivery = self.registry["livechat.messenger.delivery"]
        original = Delivery._cron_process
        late = []

        def cron_process(delivery, *args, **kwargs):
            handled = original(delivery, *args, **kwargs)
            if not late:  # the run's last look is over: the webhook keeps the next one
                late.append(self._store(carla, "late"))
            return handled

        self.patch(Delivery, "_cron_process", cron_process)
        listener = db_connect("postgres").cursor()
        self.addCleanup(listener.close)
        listener._cnx.autocommit = True
        listener.execute("LISTEN cron_trigger")
        db = db_connect(get_db_name())

        def run_job():
            """One run of the lane, as ir.cron._process_jobs() runs a ready job."""
            with db.cursor() as cron_cr:
                job = IrCron._acquire_one_job(cron_cr, cron_id)
                self.assertTrue(job, "the lane is ready")
                IrCron._process_job(db, cron_cr, job)

        run_job()
        with self._env() as env:
            self.assertEqual(self._texts(env, carla), ["first"], "kept after the run's last look")
        listener._cnx.poll()
        self.assertIn(get_db_name(), [notify.payload for notify in listener._cnx.notifies], "woken")
        run_job()  # the scheduler, woken, finds the lane ready again
        with self._env() as env:
            self.assertEqual(self._texts(env, carla), ["first", "late"])
