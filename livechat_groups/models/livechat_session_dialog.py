from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.models import NewId


class LivechatSessionDialog(models.AbstractModel):
    """What the dialogs that steer a live chat session share: the session, opened only by a
    user who may read it, and the table of who can answer now."""

    _name = "livechat.session.dialog"
    _description = "Live Chat Session Dialog"

    session_id = fields.Many2one(
        comodel_name="discuss.channel",
        required=True,
        ondelete="cascade",
        domain=[("channel_type", "=", "livechat")],
    )
    livechat_channel_id = fields.Many2one(related="session_id.livechat_channel_id")
    current_group_id = fields.Many2one(related="session_id.livechat_group_id", string="Now With")

    @api.model
    def default_get(self, fields_list):
        # a default (default_session_id in the context) points the dialog as a value does
        defaults = self._livechat_stored_values(super().default_get(fields_list))
        self._livechat_check_targets(defaults)
        return defaults

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._livechat_check_targets(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._livechat_check_targets(vals)
        return super().write(vals)

    def onchange(self, values, field_names, fields_spec):
        # what the form may set are the dialog's stored fields; the others (the session's live
        # chat, the tables of members) follow from them and are never taken from the caller
        fields_of = self._fields
        if any(fname in fields_of and not fields_of[fname].store for fname in field_names):
            return {}
        # the fields computed from others (the session's live chat, the members) are recomputed
        # from the stored ones; what the form shows only (a warning, a table) stays as the form
        # sent it, so that the answer says what changed
        inputs = self._livechat_compute_inputs()
        values = {fname: value for fname, value in values.items() if fname not in inputs}
        self._livechat_check_targets(values)
        return super().onchange(values, field_names, fields_spec)

    @api.model
    def _livechat_compute_inputs(self):
        """The fields, neither stored nor set by the form, that other fields are computed from:
        related fields, and computed ones that a compute depends on."""
        inputs = {fname for fname, field in self._fields.items() if field.related}
        for field in self._fields.values():
            for dependency in self.pool.field_depends.get(field, ()):
                fname = dependency.split(".")[0]
                if fname in self._fields and not self._fields[fname].store:
                    inputs.add(fname)
        return inputs

    @api.model
    def _livechat_stored_values(self, values):
        """``values`` without those of the fields that are not stored (computed or related)."""
        return {
            fname: value
            for fname, value in values.items()
            if fname not in self._fields or self._fields[fname].store
        }

    @api.model
    def _livechat_check_targets(self, vals):
        """Refuse (AccessError) to point a dialog at a record its user may not read: the dialog
        reads the session's live chat, its groups and their operators as the system does, so
        only for a session, a group and a user that its user may read. The one guard of every
        way a dialog is given its records: create, write and onchange."""
        for fname, value in vals.items():
            field = self._fields.get(fname)
            if value is False or value is None or not field or field.type != "many2one" or not field.store:
                continue
            if isinstance(value, models.BaseModel):
                if not value:
                    continue
                value = value.id
            if isinstance(value, NewId):
                # a default given as values becomes a new record (whose id is false): it is
                # checked as the record it was made from, and refused when made from none
                value = value.origin
            # a record given as values (a dict, as onchange takes them) would be read as new
            if type(value) is not int:
                raise UserError(self.env._("%(field)s takes the id of a record.", field=field.string))
            record = self.env[field.comodel_name].browse(value)
            record.check_access("read")
            if fname == "session_id":
                record._livechat_check_staff()

    def _member_overview(self, members):
        """A table of ``members``: whether they can answer now, and how many sessions they hold."""
        if not members:
            return False
        channel = self.livechat_channel_id.sudo()
        stats = self.env["livechat.routing"]._operator_stats(members)
        capacity = channel.max_sessions_per_operator
        status_labels = {
            "online": self.env._("Available"),
            "away": self.env._("Away"),
            "offline": self.env._("Offline"),
        }
        rows = Markup()
        for user in members.sorted(lambda u: (not u._is_user_available(), stats[u.id][0], u.name)):
            load = stats[user.id][0]
            full = bool(capacity) and load >= capacity
            status = status_labels.get(user.im_status, status_labels["offline"])
            badge = "text-bg-success" if user._is_user_available() and not full else "text-bg-secondary"
            # a click on the row chooses the member (the livechat_groups_member_table widget)
            rows += Markup(
                '<tr class="o_livechat_groups_member" data-user-id="%s" data-user-name="%s" role="button">'
                '<td>%s</td><td><span class="badge rounded-pill %s">%s</span></td><td>%s</td></tr>'
            ) % (
                user.id,
                user.name,
                user.name,
                badge,
                status,
                self.env._("%(load)s of %(capacity)s", load=load, capacity=capacity) if capacity else load,
            )
        return Markup(
            '<table class="table table-sm o_livechat_groups_members"><thead><tr>'
            "<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (self.env._("Member"), self.env._("Status"), self.env._("Open Sessions"), rows)
