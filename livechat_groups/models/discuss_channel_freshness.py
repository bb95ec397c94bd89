from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

# what a card of the supervision board shows of who holds a session: an Assign made on it
# carries these values as the supervisor saw them
SEEN_FIELDS = ("livechat_routing_state", "livechat_operator_user_id")


class LivechatSessionChanged(UserError):
    """The session changed since the user was shown it (a card of a board read from a lagging
    replica, or simply older than the last hand-over): the web client asks whether to act
    anyway, then calls again without what it saw."""


class DiscussChannel(models.Model):
    """What a user acts on may be older than the session: a board read from a read replica that
    lags, or loaded before someone else's hand-over. An Assign carries who held the session as
    the user saw it, and is refused, saying what changed, when that is no longer so."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_check_unchanged(self, seen):
        """Refuse with :class:`LivechatSessionChanged` when this session's holder is no longer
        the one ``seen``.

        :param dict seen: ``{"livechat_routing_state": str, "livechat_operator_user_id": int or
            False}`` as the user's card showed them; ``None`` when the user confirmed (nothing
            is checked)
        """
        self.ensure_one()
        if seen is None:
            return
        if not isinstance(seen, dict) or not set(SEEN_FIELDS) <= seen.keys():
            raise UserError(
                self.env._(
                    "What the board showed of the session is malformed: reload the board and try again."
                )
            )
        # sudo: discuss.channel - the caller's rights were checked by the action
        session = self.sudo()
        now = (session.livechat_routing_state, session.livechat_operator_user_id.id or False)
        if now == (seen["livechat_routing_state"], seen["livechat_operator_user_id"] or False):
            return
        raise LivechatSessionChanged(
            self.env._("%(change)s Assign it anyway?", change=session._livechat_change_message())
        )

    def _livechat_change_message(self):
        """What last changed who holds this session, for the user who saw it before: who took
        it, assigned it, got it, or where it went, and when (in the user's time zone).

        :return: one sentence
        """
        self.ensure_one()
        # sudo: discuss.channel, livechat.session.transfer - the last hop of a session the caller
        # may act on, told in its names only
        session = self.sudo()
        hop = session.env["livechat.session.transfer"].search(
            [("session_id", "=", session.id)], order="id desc", limit=1
        )
        if session.livechat_routing_state == "closed":
            return self.env._(
                "This session was closed at %(time)s.", time=self._livechat_time(session.livechat_closed_date)
            )
        if not hop:
            return self.env._("This session changed since it was shown to you.")
        time = self._livechat_time(hop.create_date)
        user, group = hop.to_user_id.name, hop.to_group_id.name
        if session.livechat_routing_state == "queued" or not user:
            return self.env._(
                "This session went back to the queue of %(group)s at %(time)s.", group=group, time=time
            )
        if hop.kind == "take":
            return self.env._("%(user)s took this session at %(time)s.", user=user, time=time)
        if hop.kind == "assign":
            return self.env._(
                "%(by)s assigned this session to %(user)s at %(time)s.",
                by=hop.create_uid.name,
                user=user,
                time=time,
            )
        if hop.kind == "forward":
            return self.env._(
                "This session was forwarded to %(user)s (%(group)s) at %(time)s.",
                user=user,
                group=group,
                time=time,
            )
        return self.env._("%(user)s got this session at %(time)s.", user=user, time=time)

    def _livechat_time(self, value):
        """``value`` as the user reads a time: the hour today, the date and hour before."""
        if not value:
            return ""
        today = fields.Datetime.context_timestamp(self, fields.Datetime.now()).date()
        same_day = fields.Datetime.context_timestamp(self, value).date() == today
        return format_datetime(self.env, value, dt_format="HH:mm" if same_day else "short")
