from odoo import api, fields, models


class LivechatMessengerTemplateSend(models.TransientModel):
    """An operator picks an approved WhatsApp template to reach a customer whose 24-hour
    window closed."""

    _name = "livechat.messenger.template.send"
    _description = "Send a Messenger Template"

    session_id = fields.Many2one(comodel_name="discuss.channel", required=True, ondelete="cascade")
    messenger_id = fields.Many2one(
        comodel_name="livechat.messenger", compute="_compute_messenger_id", readonly=True
    )
    window_end = fields.Datetime(
        string="24-Hour Window Ends",
        compute="_compute_messenger_id",
        help="When the customer last wrote, plus 24 hours: after it, only an approved template reaches them.",
    )
    template_id = fields.Many2one(
        comodel_name="livechat.messenger.template",
        required=True,
        domain="[('messenger_id', '=', messenger_id)]",
    )
    body = fields.Text(related="template_id.body")

    @api.depends("session_id")
    def _compute_messenger_id(self):
        # what follows reads the session as the system does: only for a session the user may read
        # (in a form, a new record made from it: the session it is made from)
        self.session_id._origin.check_access("read")
        for wizard in self:
            # sudo: discuss.channel - the session's messenger, for the template list
            session = wizard.session_id.sudo()
            wizard.messenger_id = session.livechat_messenger_id
            wizard.window_end = session.livechat_messenger_id._messenger_window_end(session)

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        wizards._livechat_check_records()
        return wizards

    def write(self, vals):
        res = super().write(vals)
        if {"session_id", "template_id"} & vals.keys():
            self._livechat_check_records()
        return res

    def _livechat_check_records(self):
        # the dialog reads the session as the system does, and the template's body through a
        # related field: only a session of the user's live chat, a template they may read
        for wizard in self:
            wizard.session_id.check_access("read")
            wizard.session_id._livechat_check_staff()
            wizard.template_id.check_access("read")

    def onchange(self, values, field_names, fields_spec):
        # the answer names the session as the system reads it, whatever fields are asked: the
        # dialog is for the live chat's users, on a session they may read
        self.check_access("create")
        Session = self.env["discuss.channel"]
        session_id = values.get("session_id") or self.default_get(["session_id"]).get("session_id")
        if isinstance(session_id, dict):
            # a new record made from the session (its ``id`` is the origin it reads)
            session_id = session_id.get("id")
        session = Session.browse(Session._livechat_id(session_id))
        session.check_access("read")
        if session:
            session._livechat_check_staff()
        template_id = values.get("template_id")
        if isinstance(template_id, dict):
            template_id = template_id.get("id")
        self.env["livechat.messenger.template"].browse(Session._livechat_id(template_id)).check_access("read")
        return super().onchange(values, field_names, fields_spec)

    def action_send(self):
        self.ensure_one()
        self.session_id.action_livechat_messenger_send_template(self.template_id.id)
        return {"type": "ir.actions.act_window_close"}
