from odoo import api, fields, models
from odoo.tools import SQL


class LivechatMessengerChat(models.Model):
    """A customer's conversation with a messenger account: who they are in Odoo, whatever
    session they are in. Its row is also the lock that keeps one customer's messages, arriving
    on several workers at once, from opening two sessions or creating two contacts."""

    _name = "livechat.messenger.chat"
    _description = "Live Chat Messenger Conversation"
    _rec_name = "chat_id"

    messenger_id = fields.Many2one(
        comodel_name="livechat.messenger", required=True, index=True, ondelete="cascade"
    )
    chat_id = fields.Char(required=True, help="WhatsApp wa_id, or Telegram chat id.")
    partner_id = fields.Many2one(comodel_name="res.partner", string="Customer", ondelete="set null")

    _sql_constraints = [
        ("chat_unique", "UNIQUE(messenger_id, chat_id)", "A messenger knows each conversation once."),
    ]

    @api.model
    def _messenger_lock(self, messenger, chat_id):
        """The conversation ``chat_id`` of ``messenger``, created if new, and locked until the
        transaction ends.

        An INSERT ... ON CONFLICT DO UPDATE: of two transactions writing the same conversation,
        the second waits for the first; when the first committed after the second began, the
        second fails with a serialization error and Odoo retries it, so that it sees the
        session and the contact the first one made.
        """
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO livechat_messenger_chat
                       (messenger_id, chat_id, create_uid, write_uid, create_date, write_date)
                VALUES (%(messenger)s, %(chat_id)s, %(uid)s, %(uid)s,
                        NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')
           ON CONFLICT (messenger_id, chat_id)
             DO UPDATE SET write_date = EXCLUDED.write_date, write_uid = EXCLUDED.write_uid
             RETURNING id
                """,
                messenger=messenger.id,
                chat_id=chat_id,
                uid=self.env.uid,
            )
        )
        chat = self.browse(rows[0][0])
        chat.invalidate_recordset()
        return chat
