from datetime import timedelta

from odoo import fields, models
from odoo.exceptions import AccessError


class DiscussChannel(models.Model):
    """No waiting customer missed: when a session starts waiting in a group, the group's
    available members are told over the bus, once (``livechat.routing`` records the hop); their
    web client shows a desktop notification with a sound when Odoo is not in focus
    (livechat_groups_bus_service.js). When
    the session waits past its live chat's first-answer target, its supervisors are told the
    same way, once (a timer of ``livechat.timers``)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_target_alert_date = fields.Datetime(
        string="Supervisors Alerted",
        readonly=True,
        copy=False,
        help="When the supervisors were told that this session waited past its first-answer target.",
    )

    def write(self, vals):
        if "livechat_target_alert_date" in vals and not self.env.su:
            # an alert is the timers' to send: nobody silences it for the supervisors
            raise AccessError(self._livechat_routing_fields_refusal())
        return super().write(vals)

    def _livechat_tell_waiting(self):
        """This session just started waiting in its group's queue (``livechat.routing``
        records it): the group's members are told by one notification on the group's bus
        channel, whatever their number, which carries its text in each installed language;
        each member's web client reads it in theirs, and only when they are available (active
        in the last half hour, as stock's presence) and not whom the session is for. The timers
        are scheduled for the first-answer target."""
        self.ensure_one()
        # sudo: discuss.channel, livechat.group - the routing tells the group, whoever moved the session
        session = self.sudo()
        group, channel = session.livechat_group_id, session.livechat_channel_id
        if not group or not channel:
            return
        # the group's name in every language at once (reading it in each would query each)
        names = group._fields["name"]._get_stored_translations(group) or {}
        texts = {}
        for lang, _name in self.env["res.lang"].get_installed():
            env = session.with_context(lang=lang).env
            texts[lang] = {
                "title": env._("A customer is waiting"),
                "message": env._(
                    "Waiting: %(visitor)s in %(group)s (%(livechat)s)",
                    visitor=session.livechat_visitor_name or session.name,
                    group=names.get(lang) or names.get("en_US") or group.name,
                    livechat=channel.with_env(env).name,
                ),
            }
        group._bus_send(
            "livechat_groups/session_waiting",
            {
                "id": session.id,
                "kind": "waiting",
                "customer_ids": session._livechat_customer_partners().ids,
                "texts": texts,
            },
        )
        target = channel.answer_target_minutes
        if target and not session.livechat_target_alert_date and not session.livechat_first_answer_date:
            self.env["livechat.timers"]._livechat_timers_wake(
                max(session.create_date + timedelta(minutes=target), fields.Datetime.now())
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
