import logging
import threading
from datetime import timedelta

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, html2plaintext
from odoo.tools.sql import create_index

from ..messengers import MessengerError, whatsapp
from ..messengers.common import split_text

_logger = logging.getLogger(__name__)

# delivery states only move forward: a late "delivered" never replaces "read"; a message being
# sent is as far as a queued one (its status can come before its send is recorded)
STATE_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3}
# "failed" may follow a send (WhatsApp says so in a status), not a delivery
FAILED_AFTER = ("queued", "sending", "sent")
SEND_BATCH = 10
MAX_ATTEMPTS = 10
# how long a send whose outcome is unknown (its sender died, or the provider did not answer in
# time) stays "sending", waiting for WhatsApp's status to say it arrived, before it is failed
# with "may not have reached the customer": never sent again by itself (README, Messengers).
# The system parameter livechat_groups.outbox_uncertain_seconds changes it (the fault check).
UNCERTAIN_WAIT = timedelta(minutes=2)


class LivechatMessengerMessage(models.Model):
    """The outbox of the messengers, and the log of what they brought in.

    An operator's message to a messenger customer is committed with its ``out`` row; the
    scheduled action sends it after the commit, retries it while the provider is down, and
    the provider's statuses move it forward. Every inbound message leaves an ``in`` row, whose
    unique external id makes a repeated webhook a no-op.
    """

    _name = "livechat.messenger.message"
    _description = "Live Chat Messenger Message"
    _order = "id desc"
    _rec_name = "external_id"

    messenger_id = fields.Many2one(
        comodel_name="livechat.messenger", required=True, index=True, ondelete="cascade"
    )
    session_id = fields.Many2one(comodel_name="discuss.channel", index="btree_not_null", ondelete="cascade")
    message_id = fields.Many2one(comodel_name="mail.message", index="btree_not_null", ondelete="set null")
    attachment_id = fields.Many2one(
        comodel_name="ir.attachment", ondelete="set null", help="The file this row sends, if any."
    )
    template_id = fields.Many2one(
        comodel_name="livechat.messenger.template",
        ondelete="set null",
        help="The template this row sends, if any.",
    )
    external_id = fields.Char(
        string="Provider's ID", help="WhatsApp message id, Telegram update or message id."
    )
    provider_ref = fields.Char(
        string="Provider's Message ID",
        help="Received messages: the provider's id of the message, which the customer's later "
        "reactions, edits and deletions name (WhatsApp message id; Telegram message id, in its chat).",
    )
    direction = fields.Selection(selection=[("in", "Received"), ("out", "Sent")], required=True)
    state = fields.Selection(
        selection=[
            ("received", "Received"),
            ("queued", "Queued"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
        ],
        required=True,
    )
    text_part = fields.Text(
        help="The part of a long text this row sends: the providers take 4,096 characters a "
        "message, so a longer one is sent in parts, one row each (empty: the whole text)."
    )
    failure_reason = fields.Text()
    # why the last attempt did not succeed, as a reason of messengers.common.REASONS (or
    # "uncertain"): what Discuss shows, in each reader's language, while the message waits
    failure_code = fields.Char()
    attempt_count = fields.Integer(string="Attempts", default=0)
    next_attempt_date = fields.Datetime(string="Next Attempt")
    sending_date = fields.Datetime(help="When the send under way began.")
    reference = fields.Char(
        copy=False,
        index="btree_not_null",
        readonly=True,
        help="Sent with the message (WhatsApp's biz_opaque_callback_data) and given back in its "
        "statuses: it finds the message whose send was not recorded. Given when the row is "
        "first claimed for sending.",
    )

    _sql_constraints = [
        (
            "external_id_unique",
            "UNIQUE(messenger_id, external_id, direction)",
            "A messenger's message is recorded once.",
        ),
    ]

    def init(self):
        res = super().init()
        # the send job claims the due rows of the outbox, which stays small as the log grows
        create_index(
            self.env.cr,
            "livechat_messenger_message_outbox_index",
            self._table,
            ["next_attempt_date", "id"],
            where="state = 'queued'",
        )
        # the settling of the sends whose outcome is unknown reads the few rows being sent
        create_index(
            self.env.cr,
            "livechat_messenger_message_sending_index",
            self._table,
            ["sending_date"],
            where="state = 'sending'",
        )
        # the intake finds the message a reaction, an edit or a deletion names
        create_index(
            self.env.cr,
            "livechat_messenger_message_provider_ref_index",
            self._table,
            ["messenger_id", "provider_ref"],
            where="direction = 'in' AND provider_ref IS NOT NULL",
        )
        return res

    # ------------------------------------------------------------
    # Intake
    # ------------------------------------------------------------

    @api.model
    def _messenger_claim_inbound(self, messenger, external_id):
        """Record that ``external_id`` arrived, unless it already did.

        An INSERT ... ON CONFLICT rather than the ORM and a unique error: a repeat inside a
        batch is skipped without rolling back the rest, and of two workers given the same
        message at once, the second waits for the first and then skips it.

        :return: the new row, or an empty recordset for a repeat
        """
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO livechat_messenger_message
                       (messenger_id, external_id, direction, state, attempt_count,
                        create_uid, write_uid, create_date, write_date)
                VALUES (%(messenger)s, %(external_id)s, 'in', 'received', 0,
                        %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')
           ON CONFLICT (messenger_id, external_id, direction) DO NOTHING
             RETURNING id
                """,
                messenger=messenger.id,
                external_id=external_id,
                uid=self.env.uid,
            )
        )
        return self.browse([row[0] for row in rows])

    @api.model
    def _messenger_apply_status(self, messenger, status):
        """Move the sent message ``status`` is about forward (never back); a failure says why
        in the conversation.

        The message is found by the id the provider gave it, or, when its send was never
        recorded (its sender died, or the provider answered after our timeout), by the
        reference sent with it: the status then records the id, and a message failed as "may
        not have reached the customer" is known to have reached them after all."""
        if status.state == "failed":
            allowed = list(FAILED_AFTER)
            error = whatsapp.error_for_code(status.error_code, status.error_message)
            reason, code = messenger._messenger_failure_text(error), error.reason
        else:
            allowed = [state for state, rank in STATE_RANK.items() if rank < STATE_RANK[status.state]]
            reason = code = None
        self.env.flush_all()
        # SQL: the state moves only when it is behind, checked and written in one statement
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE livechat_messenger_message
                   SET state = %(state)s,
                       external_id = COALESCE(external_id, %(external_id)s),
                       failure_reason = CASE WHEN %(state)s = 'failed'
                                             THEN COALESCE(%(reason)s, failure_reason) END,
                       failure_code = %(code)s,
                       write_date = NOW() AT TIME ZONE 'UTC'
                 WHERE messenger_id = %(messenger)s AND direction = 'out'
                   AND (external_id = %(external_id)s
                        OR (external_id IS NULL AND reference = %(reference)s))
                   AND (state IN %(allowed)s
                        OR (state = 'failed' AND failure_code = 'uncertain' AND %(state)s != 'failed'))
             RETURNING id
                """,
                state=status.state,
                reason=reason,
                code=code,
                messenger=messenger.id,
                external_id=status.external_id,
                reference=status.reference or None,
                allowed=tuple(allowed),
            )
        )
        rows = self.browse([row[0] for row in rows])
        rows.invalidate_recordset(["state", "failure_reason", "failure_code", "external_id"])
        for row in rows:
            if row.state == "failed":
                row._messenger_tell_failure()
        rows._messenger_notify_state()
        return rows

    # ------------------------------------------------------------
    # Outbox
    # ------------------------------------------------------------

    @api.model
    def _messenger_queue(self, session, message, template=None):
        """Put ``message`` of ``session`` in the outbox: its text (or ``template``) and each of
        its files, one row each; a text longer than the provider takes is split in parts, one
        row each, in order (the operator's signature on the first only). The send job runs once
        this transaction commits."""
        messenger = session.livechat_messenger_id
        vals = {
            "messenger_id": messenger.id,
            "session_id": session.id,
            "message_id": message.id,
            "direction": "out",
            "state": "queued",
        }
        vals_list = []
        if template:
            vals_list.append(dict(vals, template_id=template.id))
        elif html2plaintext(message.body or "").strip():
            text = self._messenger_signed_text(messenger, message)
            parts = split_text(text, messenger._messenger_protocol().TEXT_LIMIT)
            vals_list += [dict(vals, text_part=part if len(parts) > 1 else False) for part in parts]
        vals_list += [dict(vals, attachment_id=attachment.id) for attachment in message.attachment_ids]
        # sudo: livechat.messenger.message - the outbox is written by the system for whoever posts
        rows = self.sudo().create(vals_list)
        self._messenger_send_cron()._trigger()
        rows._messenger_notify_state()
        return rows

    @api.model
    def _cron_send(self, limit=SEND_BATCH, auto_commit=None):
        """The scheduled action: send the due rows of the outbox, one at a time, and tell
        operators of closed windows.

        Each row is its own unit: claimed as ``sending`` and committed, sent, its result
        committed. A worker killed, or a database gone, repeats no send: the row in flight stays
        ``sending``, and :meth:`_messenger_settle_uncertain` settles it without sending it again.
        An error on one row rolls back that row's result alone.

        :param bool auto_commit: commit after each step (the scheduler's run); by default, unless
            the thread is a test's (as stock's mail queue decides)
        :return: the rows this run tried to send
        """
        if auto_commit is None:
            auto_commit = not getattr(threading.current_thread(), "testing", False)
        cr = self.env.cr

        def commit():
            if auto_commit:
                # the scheduler's run only: each answer's claim and result are their own units
                cr.commit()  # pylint: disable=invalid-commit
                # a new transaction sees what others committed meanwhile: so must the cache
                self.env.invalidate_all()

        self.env["discuss.channel"]._livechat_messenger_announce_closed_windows()
        self._messenger_settle_uncertain()
        commit()
        rows = self.browse()
        while len(rows) < limit:
            row = self._messenger_claim()
            if not row:
                break
            rows |= row
            commit()
            # held while the provider is called: a status about it waits for its result (see
            # livechat.messenger._messenger_wait_for_sends), and the settling skips it
            if auto_commit and not row._messenger_lock_sending():
                continue
            row._messenger_send_guarded()
            # with the job's progress: Odoo counts no run that sent something as timed out
            self.env["ir.cron"]._notify_progress(done=len(rows), remaining=1)
            commit()
        remaining = self.search_count(
            [
                ("state", "=", "queued"),
                ("direction", "=", "out"),
                "|",
                ("next_attempt_date", "=", False),
                ("next_attempt_date", "<=", fields.Datetime.now()),
            ]
        )
        self.env["ir.cron"]._notify_progress(done=len(rows), remaining=remaining)
        return rows

    @api.model
    def _messenger_claim(self):
        """Take the next due row of the outbox: it becomes ``sending``, with its attempt counted.
        A row never overtakes an earlier one of its conversation that waits (a retry, the
        provider's limits); the other conversations go on meanwhile. (One run sends at a time,
        the scheduler's: an earlier row still ``sending`` is one whose outcome is unknown,
        which is settled apart, see :meth:`_messenger_settle_uncertain`.)

        :return: the row, or an empty recordset when none is due
        """
        self.env.flush_all()
        # SKIP LOCKED: two workers running the job at once never claim the same row
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE livechat_messenger_message
                   SET state = 'sending', sending_date = %(now)s, attempt_count = attempt_count + 1,
                       reference = COALESCE(reference, id || '-' || md5(random()::text || clock_timestamp())),
                       write_date = NOW() AT TIME ZONE 'UTC'
                 WHERE id = (SELECT m.id FROM livechat_messenger_message m
                              WHERE m.state = 'queued' AND m.direction = 'out'
                                AND (m.next_attempt_date IS NULL OR m.next_attempt_date <= %(now)s)
                                AND NOT EXISTS (
                                    SELECT 1 FROM livechat_messenger_message earlier
                                     WHERE earlier.session_id = m.session_id
                                       AND earlier.direction = 'out' AND earlier.id < m.id
                                       AND earlier.state = 'queued')
                           ORDER BY m.id
                              LIMIT 1
                                FOR UPDATE OF m SKIP LOCKED)
             RETURNING id
                """,
                now=fields.Datetime.now(),
            )
        )
        row = self.browse([row[0] for row in rows])
        row.invalidate_recordset(["state", "sending_date", "attempt_count", "reference"])
        return row

    def _messenger_lock_sending(self):
        """Lock this claimed row for its send; False when another worker settled it meanwhile."""
        return bool(
            self.env.execute_query(
                SQL(
                    "SELECT id FROM livechat_messenger_message WHERE id = %s AND state = 'sending' FOR UPDATE",
                    self.id,
                )
            )
        )

    @api.model
    def _messenger_settle_uncertain(self):
        """The sends whose outcome is unknown for longer than :data:`UNCERTAIN_WAIT`: their
        sender died (no worker holds them), or the provider did not answer in time, and no
        status told us since. They are not sent again, which could deliver them twice: they
        fail, saying that they may not have reached the customer (a WhatsApp status that comes
        later still moves them forward)."""
        self.env.flush_all()
        # SKIP LOCKED: a row whose sender is still at work is locked by it, and is left to it
        rows = self.browse(
            [
                row[0]
                for row in self.env.execute_query(
                    SQL(
                        """
                    SELECT id FROM livechat_messenger_message
                     WHERE state = 'sending' AND direction = 'out' AND sending_date <= %(before)s
                  ORDER BY id
                       FOR UPDATE SKIP LOCKED
                    """,
                        before=fields.Datetime.now() - self._messenger_uncertain_wait(),
                    )
                )
            ]
        )
        for row in rows:
            row._messenger_fail("uncertain", row.messenger_id._messenger_uncertain_text())
        rows._messenger_notify_state()
        return rows

    def _messenger_send_guarded(self):
        """Send this claimed row; whatever goes wrong after the provider was called (writing its
        result, telling the operators) undoes this row's result alone, which then stays
        ``sending`` until it is settled: never sent a second time."""
        try:
            with self.env.cr.savepoint():
                self._messenger_send()
        except psycopg2.OperationalError:
            raise  # the database went away: nothing to go on with
        except Exception:
            _logger.exception("Messenger outbox: the send of row %s could not be recorded", self.id)
            self.invalidate_recordset()

    def _messenger_send(self):
        """Send this claimed row; on a transient failure that surely did not reach the provider,
        try again later with a growing delay; when the provider may have taken it, wait for its
        word instead (WhatsApp), or say so at once (Telegram, which tells nothing later)."""
        self.ensure_one()
        messenger = self.messenger_id
        try:
            # a savepoint: whatever the call raises, this row fails alone and the job goes on
            with self.env.cr.savepoint():
                window_end = messenger._messenger_window_end(self.session_id)
                if not self.template_id and window_end and fields.Datetime.now() > window_end:
                    raise MessengerError("window_closed")
                external_id = self._messenger_call(messenger._messenger_api())
        except MessengerError as error:
            if error.uncertain:
                if messenger.provider == "whatsapp":
                    # its statuses carry our reference: they will tell whether it arrived
                    self.write(
                        {"failure_code": "late", "failure_reason": messenger._messenger_failure_text(error)}
                    )
                    self._messenger_send_cron()._trigger(self.sending_date + self._messenger_uncertain_wait())
                else:
                    self._messenger_fail("uncertain", messenger._messenger_uncertain_text())
            elif error.retry_after is not None:
                # the provider's limits: tried again when it says, never failed for it; the
                # conversation's later messages wait behind it (see _messenger_claim)
                self.write(
                    {
                        "state": "queued",
                        "attempt_count": self.attempt_count - 1,
                        "next_attempt_date": fields.Datetime.now() + timedelta(seconds=error.retry_after),
                        "failure_code": error.reason,
                        "failure_reason": messenger._messenger_failure_text(error),
                    }
                )
                self._messenger_send_cron()._trigger(self.next_attempt_date)
            elif error.transient and self.attempt_count < MAX_ATTEMPTS:
                delay = timedelta(seconds=min(30 * 2 ** (self.attempt_count - 1), 3600))
                self.write(
                    {
                        "state": "queued",
                        "next_attempt_date": fields.Datetime.now() + delay,
                        "failure_code": error.reason,
                        "failure_reason": messenger._messenger_failure_text(error),
                    }
                )
                self._messenger_send_cron()._trigger(self.next_attempt_date)
            else:
                self._messenger_fail(error.reason, messenger._messenger_failure_text(error))
        except Exception as error:  # one row's bug never blocks the outbox
            _logger.exception("Messenger outbox: row %s could not be sent", self.id)
            self._messenger_fail("rejected", self._messenger_unexpected_reason(error))
        else:
            self.write(
                {
                    "state": "sent",
                    "external_id": external_id,
                    "failure_code": False,
                    "failure_reason": False,
                }
            )
        self._messenger_notify_state()

    def _messenger_fail(self, code, reason):
        """This row will not reach the customer (or may not have): said in the conversation."""
        self.ensure_one()
        self.write({"state": "failed", "failure_code": code, "failure_reason": reason})
        self._messenger_tell_failure()

    @api.model
    def _messenger_uncertain_wait(self):
        """:data:`UNCERTAIN_WAIT`, or the system parameter ``livechat_groups.outbox_uncertain_seconds``."""
        # sudo: ir.config_parameter - the send job reads its setting, whoever runs it
        seconds = self.env["ir.config_parameter"].sudo().get_param("livechat_groups.outbox_uncertain_seconds")
        try:
            return timedelta(seconds=max(int(seconds), 0)) if seconds else UNCERTAIN_WAIT
        except ValueError:
            return UNCERTAIN_WAIT

    @api.model
    def _messenger_send_cron(self):
        return self.env.ref("livechat_groups.ir_cron_livechat_messenger_send")

    def _messenger_unexpected_reason(self, error):
        """What the operators read of an error the send job did not expect: their own words for
        what they can act on (a UserError), else only its kind (the details are in the log)."""
        if isinstance(error, UserError):
            return error.args[0]
        return self.env._(
            "an unexpected error (%(error)s); an administrator finds the details in the server log.",
            error=type(error).__name__,
        )

    def _messenger_call(self, api):
        """The provider's request for this row; return the id the provider gave the message."""
        if self.text_part and self._messenger_earlier_parts_waiting():
            # the parts of a long answer reach the customer in order: this one waits its turn
            raise MessengerError(
                "unreachable", "an earlier part of the message is not sent yet", transient=True
            )
        if self.rating_question:
            return self._messenger_call_rating(api)
        session, messenger = self.session_id, self.messenger_id
        to = session.livechat_messenger_chat_id
        if self.attachment_id:
            # sudo: ir.attachment - the file the operator attached to their message
            attachment = self.attachment_id.sudo()
            content, mimetype, name = (
                attachment.raw,
                attachment.mimetype or "application/octet-stream",
                attachment.name,
            )
            if messenger.provider == "whatsapp":
                try:
                    media_id = api.upload_media(content, mimetype, name)
                except MessengerError as error:
                    error.uncertain = False  # an upload taken twice reaches nobody: tried again
                    raise
                return api.send(
                    whatsapp.with_reference(
                        whatsapp.media_message(to, whatsapp.media_kind(mimetype), media_id, filename=name),
                        self.reference,
                    )
                )
            return api.send_file(to, content, mimetype, name)
        if self.template_id:
            template = self.template_id
            if messenger.provider != "whatsapp":
                # a template left on an account whose provider changed: it has none to send
                raise UserError(self.env._("Only a WhatsApp account has message templates."))
            return api.send(
                whatsapp.with_reference(
                    whatsapp.template_message(to, template.name, template.language), self.reference
                )
            )
        text = self._messenger_text()
        if messenger.provider == "whatsapp":
            return api.send(whatsapp.with_reference(whatsapp.text_message(to, text), self.reference))
        return api.send_text(to, text)

    def _messenger_earlier_parts_waiting(self):
        """Whether a part of the same long answer, before this one, still waits to be sent."""
        return bool(
            self.search_count(
                [
                    ("message_id", "=", self.message_id.id),
                    ("direction", "=", "out"),
                    ("text_part", "!=", False),
                    ("id", "<", self.id),
                    ("state", "in", ("queued", "sending")),
                ],
                limit=1,
            )
        )

    def _messenger_text(self):
        """What this row sends: its part of a long text, else the whole message (see
        :meth:`_messenger_signed_text`)."""
        return self.text_part or self._messenger_signed_text(self.messenger_id, self.message_id)

    @api.model
    def _messenger_signed_text(self, messenger, message):
        """``message`` as the customer reads it: plain text, signed by the operator who wrote
        it (routing notices are not signed)."""
        message = message.sudo()
        text = html2plaintext(message.body or "").strip()
        author = message.author_id
        if message.message_type == "comment" and author and author != self.env.ref("base.partner_root"):
            name = author.user_ids[:1].livechat_username or author.name
            mark = "*" if messenger.provider == "whatsapp" else ""
            text = f"{mark}{name}{mark}: {text}"
        return text

    def _messenger_tell_failure(self):
        """Say in the conversation, for its operators only, that a message did not reach the customer."""
        self.ensure_one()
        session = self.session_id
        if not session:
            return
        quoted = html2plaintext(self.message_id.body or "").strip()[:80] or (self.attachment_id.name or "")
        body = Markup("<p>%s</p>") % self.env._(
            "Not delivered to the customer: “%(message)s”. Reason: %(reason)s",
            message=quoted,
            reason=self.failure_reason,
        )
        # sudo: discuss.channel - OdooBot tells the operators, whoever triggered the send
        session.sudo().message_post(
            author_id=self.env.ref("base.partner_root").id,
            body=body,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

    def _messenger_notify_state(self):
        """Show the operators where their messages stand, live (a message of a session is
        sent on the session's bus channel)."""
        for message in self.message_id:
            message._bus_send_store(message, message._livechat_messenger_state_values())
