import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, html2plaintext
from odoo.tools.sql import create_index

from ..messengers import MessengerError, whatsapp
from ..messengers.common import split_text

_logger = logging.getLogger(__name__)

# delivery states only move forward: a late "delivered" never replaces "read"
STATE_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
# "failed" may follow a send (WhatsApp says so in a status), not a delivery
FAILED_AFTER = ("queued", "sent")
SEND_BATCH = 10
MAX_ATTEMPTS = 10


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
    attempt_count = fields.Integer(string="Attempts", default=0)
    next_attempt_date = fields.Datetime(string="Next Attempt")

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
        in the conversation."""
        if status.state == "failed":
            allowed = list(FAILED_AFTER)
            reason = messenger._messenger_failure_text(
                whatsapp.error_for_code(status.error_code, status.error_message)
            )
        else:
            allowed = [state for state, rank in STATE_RANK.items() if rank < STATE_RANK[status.state]]
            reason = None
        self.env.flush_all()
        # SQL: the state moves only when it is behind, checked and written in one statement
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE livechat_messenger_message
                   SET state = %(state)s, failure_reason = COALESCE(%(reason)s, failure_reason),
                       write_date = NOW() AT TIME ZONE 'UTC'
                 WHERE messenger_id = %(messenger)s AND external_id = %(external_id)s
                   AND direction = 'out' AND state IN %(allowed)s
             RETURNING id
                """,
                state=status.state,
                reason=reason,
                messenger=messenger.id,
                external_id=status.external_id,
                allowed=tuple(allowed),
            )
        )
        rows = self.browse([row[0] for row in rows])
        rows.invalidate_recordset(["state", "failure_reason"])
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
        self.env.ref("livechat_groups.ir_cron_livechat_messenger_send")._trigger()
        rows._messenger_notify_state()
        return rows

    @api.model
    def _cron_send(self, limit=SEND_BATCH):
        """The scheduled action: send the due rows of the outbox, a few at a time (each batch is
        committed by the scheduler before the next), and tell operators of closed windows."""
        self.env["discuss.channel"]._livechat_messenger_announce_closed_windows()
        # SKIP LOCKED: two workers running the job at once never claim the same row
        rows = self.browse(
            [
                row[0]
                for row in self.env.execute_query(
                    SQL(
                        """
                    SELECT id FROM livechat_messenger_message
                     WHERE state = 'queued' AND direction = 'out'
                       AND (next_attempt_date IS NULL OR next_attempt_date <= %(now)s)
                  ORDER BY id
                     LIMIT %(limit)s
                       FOR UPDATE SKIP LOCKED
                    """,
                        now=fields.Datetime.now(),
                        limit=limit,
                    )
                )
            ]
        )
        for row in rows:
            row._messenger_send()
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

    def _messenger_send(self):
        """Send this row; on a transient failure, try again later with a growing delay."""
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
            if error.transient and self.attempt_count + 1 < MAX_ATTEMPTS:
                delay = timedelta(seconds=min(30 * 2**self.attempt_count, 3600))
                self.write(
                    {
                        "attempt_count": self.attempt_count + 1,
                        "next_attempt_date": fields.Datetime.now() + delay,
                        "failure_reason": messenger._messenger_failure_text(error),
                    }
                )
                self.env.ref("livechat_groups.ir_cron_livechat_messenger_send")._trigger(
                    self.next_attempt_date
                )
                return
            self.write(
                {
                    "state": "failed",
                    "attempt_count": self.attempt_count + 1,
                    "failure_reason": messenger._messenger_failure_text(error),
                }
            )
            self._messenger_tell_failure()
        except Exception as error:  # one row's bug never blocks the outbox
            _logger.exception("Messenger outbox: row %s could not be sent", self.id)
            self.write(
                {
                    "state": "failed",
                    "attempt_count": self.attempt_count + 1,
                    "failure_reason": self._messenger_unexpected_reason(error),
                }
            )
            self._messenger_tell_failure()
        else:
            self.write(
                {
                    "state": "sent",
                    "external_id": external_id,
                    "attempt_count": self.attempt_count + 1,
                    "failure_reason": False,
                }
            )
        self._messenger_notify_state()

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
                media_id = api.upload_media(content, mimetype, name)
                return api.send(
                    whatsapp.media_message(to, whatsapp.media_kind(mimetype), media_id, filename=name)
                )
            return api.send_file(to, content, mimetype, name)
        if self.template_id:
            template = self.template_id
            if messenger.provider != "whatsapp":
                # a template left on an account whose provider changed: it has none to send
                raise UserError(self.env._("Only a WhatsApp account has message templates."))
            return api.send(whatsapp.template_message(to, template.name, template.language))
        text = self._messenger_text()
        if messenger.provider == "whatsapp":
            return api.send(whatsapp.text_message(to, text))
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
                    ("state", "=", "queued"),
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
        """Show the operators where their messages stand, live."""
        for message in self.message_id:
            message._bus_send_store(message, message._livechat_messenger_state_values())
