from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError


class DiscussChannel(models.Model):
    """No waiting customer missed: when a session starts waiting in a group, the group's
    available members are told over the bus, once; their web client shows a desktop
    notification with a sound when Odoo is not in focus (livechat_groups_bus_service.js). When
    the session waits past its live chat's first-answer target, its supervisors are told the
    same way, once (a timer of ``livechat.timers``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_target_alert_date = fields.Datetime(
        string="Supervisors Alerted",
        readonly=True,
        copy=False,
        help="When the supervisors were told that this session waited past its first-answer target.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        sessions = super().create(vals_list)
        sessions.filtered(lambda session: session.livechat_routing_state == "queued")._livechat_tell_waiting()
        return sessions

    def write(self, vals):
        if "livechat_target_alert_date" in vals and not self.env.su:
            # an alert is the timers' to send: nobody silences it for the supervisors
            raise AccessError(self._livechat_routing_fields_refusal())
        if not {"livechat_routing_state", "livechat_group_id"} & vals.keys():
            return super().write(vals)
        # sudo: discuss.channel - where each session waited before, whoever moves it
        before = {
            session.id: (session.livechat_routing_state, session.livechat_group_id) for session in self.sudo()
        }
        res = super().write(vals)
        self.filtered(
            lambda session: session.livechat_routing_state == "queued"
            and before.get(session.id) != ("queued", session.sudo().livechat_group_id)
        )._livechat_tell_waiting()
        return res

    def _livechat_waiting_recipients(self):
        """Who is told that this session waits: the available (online) members of its group,
        never whoever the session is for."""
        self.ensure_one()
        # sudo: livechat.group, res.users - who is told is not the visitor's to read
        session = self.sudo()
        customers = session._livechat_customer_partners()
        return session.livechat_group_id.member_ids.filtered(
            lambda user: user.active
            and not user.share
            and user.partner_id not in customers
            and user._is_user_available()
        )

    def _livechat_tell_waiting(self):
        """The sessions of ``self`` just started waiting in their group's queue: its available
        members are told, each in their language, and the timers are scheduled for the
        first-answer target."""
        Timers = self.env["livechat.timers"]
        for session in self.sudo():
            group, channel = session.livechat_group_id, session.livechat_channel_id
            if not group or not channel:
                continue
            for lang, users in session._livechat_waiting_recipients().grouped("lang").items():
                env = session.with_context(lang=lang).env
                message = env._(
                    "Waiting: %(visitor)s in %(group)s (%(livechat)s)",
                    visitor=session.livechat_visitor_name or session.name,
                    group=group.with_env(env).name,
                    livechat=channel.with_env(env).name,
                )
                users.partner_id._bus_send(
                    "livechat_groups/session_waiting",
                    {
                        "id": session.id,
                        "kind": "waiting",
                        "title": env._("A customer is waiting"),
                        "message": message,
                    },
                )
            target = channel.answer_target_minutes
            if target and not session.livechat_target_alert_date and not session.livechat_first_answer_date:
                Timers._livechat_timers_cron()._trigger(
                    at=max(session.create_date + timedelta(minutes=target), fields.Datetime.now())
                )

    def _livechat_tell_supervisors_waiting(self):
        """This session has waited past its live chat's first-answer target: the live chat's
        supervisors are told, once."""
        self.ensure_one()
        # sudo: discuss.channel, livechat.group - the timers act for the system
        session = self.sudo()
        minutes = int((fields.Datetime.now() - session.create_date).total_seconds() // 60)
        supervisors = session.livechat_channel_id.supervisor_group_ids.member_ids.filtered(
            lambda user: user.active and not user.share
        )
        for lang, users in supervisors.grouped("lang").items():
            env = session.with_context(lang=lang).env
            message = env._(
                "%(visitor)s has waited %(minutes)s min in %(group)s",
                visitor=session.livechat_visitor_name or session.name,
                minutes=minutes,
                group=session.livechat_group_id.with_env(env).name,
            )
            users.partner_id._bus_send(
                "livechat_groups/session_waiting",
                {
                    "id": session.id,
                    "kind": "target",
                    "title": env._("Past the answer target"),
                    "message": message,
                },
            )
        session.livechat_target_alert_date = fields.Datetime.now()
