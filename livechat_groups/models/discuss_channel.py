from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.sql import create_index

from .livechat_routing_reason import Reason, record_names

# what only the routing writes, on any conversation: a forged value would count against an
# operator's capacity or put a conversation in a queue
ROUTING_FIELDS = {
    "livechat_group_id",
    "livechat_routing_state",
    "livechat_requester_id",
    "livechat_visitor_name",
    "livechat_queued_date",
    "livechat_assigned_date",
    "livechat_closed_date",
    "livechat_queue_notice_id",
    "livechat_operator_user_id",  # written through the assignment only, see write()
    "livechat_routing_reason_data",
    "livechat_visitor_lang",
    "livechat_answer_due",
    "livechat_first_answer_date",
}
# stock's fields that the routing also decides on the sessions of a grouped live chat (the time of
# the last message is the inactivity timer's: a member who wrote it would keep the session open)
STOCK_ROUTING_FIELDS = {"livechat_operator_id", "livechat_active", "livechat_channel_id", "last_interest_dt"}


class DiscussChannel(models.Model):
    """What a session of a grouped live chat is: who holds it, where it waits, who asked, and
    the guards that let only the routing change them.

    The rest is split by concern, one file each, as ``mail/models/discuss`` does:
    ``discuss_channel_routing`` (the stock hooks that call the routing service),
    ``discuss_channel_actions`` (take, assign, forward, join, close), ``discuss_channel_notices``
    (what the visitor reads), ``discuss_channel_display`` (names in the header, the Waiting list),
    ``discuss_channel_board`` (the supervision board), ``discuss_channel_privacy`` (internal
    notes), ``discuss_channel_messenger`` and ``discuss_channel_figures``.
    """

    _inherit = "discuss.channel"

    livechat_group_id = fields.Many2one(
        comodel_name="livechat.group",
        string="Responsible Group",
        index="btree_not_null",
        ondelete="set null",
        help="The group now responsible for this live chat session.",
    )
    livechat_routing_state = fields.Selection(
        selection=[("queued", "Waiting"), ("assigned", "In Progress"), ("closed", "Closed")],
        string="Routing State",
        group_expand="_read_group_livechat_routing_state",
        help="Waiting: in the queue of its group. In progress: an operator holds it. "
        "Empty for the sessions of live chats without groups.",
    )
    livechat_visitor_name = fields.Char(
        string="Visitor Name", help="Who asked: the visitor's name, or the user's when they are logged in."
    )
    livechat_requester_id = fields.Many2one(
        comodel_name="res.partner",
        string="Requester",
        index="btree_not_null",
        ondelete="set null",
        help="The logged-in user who asked (an employee, in an internal live chat); empty for "
        "anonymous visitors. Requesters never see the operators' internal notes.",
    )
    livechat_queued_date = fields.Datetime(
        string="Waiting Since", help="When the session last entered a queue."
    )
    livechat_assigned_date = fields.Datetime(
        string="Assigned On", help="When an operator last got the session."
    )
    livechat_queue_notice_id = fields.Many2one(
        comodel_name="mail.message",
        string="Queue Notice",
        ondelete="set null",
        readonly=True,
        help="OdooBot's message telling the waiting visitor their place, kept up to date as the queue moves.",
    )
    livechat_transfer_ids = fields.One2many(
        comodel_name="livechat.session.transfer",
        inverse_name="session_id",
        string="Routing History",
    )
    livechat_closed_date = fields.Datetime(string="Closed On", help="When the session's routing ended.")
    livechat_routing_reason_data = fields.Json(
        string="Why This Operator (stored)",
        readonly=True,
        groups="im_livechat.im_livechat_group_user",
        help="What the routing said at the session's last hop, in no language (see livechat_routing_reason).",
    )
    livechat_routing_reason = fields.Text(
        string="Why This Operator",
        compute="_compute_livechat_routing_reason",
        # the staff's reasons (who did not answer, how busy the desk is): not for the customer
        groups="im_livechat.im_livechat_group_user",
        help="Why the routing gave the session to its operator, or left it in the queue, at its last hop.",
    )
    livechat_visitor_lang = fields.Char(
        string="Visitor Language",
        readonly=True,
        help="The language the website visitor's browser asked for when the session started.",
    )

    # over time (see livechat.timers)
    livechat_answer_due = fields.Datetime(
        string="Answer Due",
        readonly=True,
        index="btree_not_null",
        help="When the operator who got the session must have written to the visitor; empty once "
        "they did, or when its live chat has no answer timeout.",
    )
    livechat_first_answer_date = fields.Datetime(
        string="First Answered On",
        readonly=True,
        help="When the operator holding the session first wrote to the visitor.",
    )
    livechat_operator_user_id = fields.Many2one(
        comodel_name="res.users",
        string="Held By",
        compute="_compute_livechat_operator_user_id",
        store=True,
        readonly=False,
        index="btree_not_null",
        group_expand="_read_group_livechat_operator_user_id",
        help="The operator who holds the session now (or held it last, once closed); empty "
        "while it waits. Setting it (for "
        "example by moving a card to an operator's column on the supervision board) assigns the "
        "session, which only the supervisors of its live chat and Live Chat administrators may do.",
    )

    @api.depends_context("lang")
    @api.depends("livechat_routing_reason_data")
    def _compute_livechat_routing_reason(self):
        # in the reader's language, whoever's the routing acted for (see livechat_routing_reason)
        reasons = [Reason.load(session.livechat_routing_reason_data) for session in self]
        names = record_names(self.env, reasons)
        for session, reason in zip(self, reasons, strict=True):
            session.livechat_routing_reason = reason.render(self.env, names) or False

    def init(self):
        res = super().init()
        # The routing counts each candidate operator's open sessions for every new session, and
        # the queue job reads each group's waiting sessions oldest first: both stay small while
        # the history grows, so each gets a partial index.
        create_index(
            self.env.cr,
            "discuss_channel_livechat_load_index",
            self._table,
            ["livechat_operator_id"],
            where="livechat_routing_state = 'assigned' AND channel_type = 'livechat'",
        )
        create_index(
            self.env.cr,
            "discuss_channel_livechat_queue_index",
            self._table,
            ["livechat_group_id", "livechat_queued_date", "id"],
            where="livechat_routing_state = 'queued'",
        )
        return res

    @api.depends("livechat_routing_state", "livechat_operator_id")
    def _compute_livechat_operator_user_id(self):
        # a closed session keeps the operator who held it last, for the board and the figures
        odoobot = self._livechat_odoobot()
        for session in self:
            operator = session.livechat_operator_id
            held = session.livechat_routing_state in ("assigned", "closed") and operator != odoobot
            session.livechat_operator_user_id = operator.user_ids[:1] if held else False

    # ------------------------------------------------------------
    # CRUD and stock hooks
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and ROUTING_FIELDS & self._livechat_given_fields(vals_list):
            raise AccessError(self._livechat_routing_fields_refusal())
        return super().create(vals_list)

    @api.model
    def _livechat_given_fields(self, vals_list):
        """The fields a ``create`` of ``vals_list`` sets: its values', and the context's defaults
        (``default_<field>``, which the ORM applies too)."""
        defaults = {key.removeprefix("default_") for key in self.env.context if key.startswith("default_")}
        return defaults.union(*(vals.keys() for vals in vals_list))

    def write(self, vals):
        if "livechat_operator_user_id" in vals:
            # The supervision board moved a card to an operator's column: that is an assignment,
            # with all its checks, never a plain write of the operator.
            vals = dict(vals)
            user_id = vals.pop("livechat_operator_user_id")
            for session in self:
                if not user_id:
                    raise UserError(
                        self.env._(
                            "A session cannot be put back in the queue by hand: assign it to an "
                            "operator, or forward it to a group."
                        )
                    )
                session.action_livechat_assign(user_id)
            if not vals:
                return True
        if not self.env.su and (
            ROUTING_FIELDS & vals.keys()
            or (STOCK_ROUTING_FIELDS & vals.keys() and self.sudo().filtered("livechat_routing_state"))
        ):
            # members may write their conversation, not who holds it, who asked or where it waits
            raise AccessError(self._livechat_routing_fields_refusal())
        if vals.get("livechat_routing_state") == "closed":
            vals = dict(vals, livechat_closed_date=fields.Datetime.now())
        return super().write(vals)

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        if not self.env.su:
            # the web client posts as superuser after its own check: see controllers/thread.py
            self._livechat_check_answer_access()
        leaving = self.env.context.get("livechat_groups_staff_leaving")
        if (
            leaving
            and kwargs.get("author_id") == leaving
            and kwargs.get("subtype_xmlid") == "mail.mt_comment"
        ):
            # stock's "left the channel" of an operator or supervisor (see _action_unfollow) is
            # for the staff, as their "joined" is: the visitor reads what the routing tells them
            kwargs["subtype_xmlid"] = "mail.mt_note"
            if self.env.context.get("livechat_groups_handed_to"):
                # the routing took the session from them: one note says who answers now
                kwargs["body"] = self._livechat_handed_over_note()
        # what this session keeps for the end of its batch of hand-backs comes first
        self._livechat_post_pending()
        interest = self.last_interest_dt
        message = super().message_post(**kwargs)
        if self.livechat_routing_state and not message._livechat_says_something():
            # an empty comment (possible over RPC) is no sign of life: stock set the time of the
            # last interest, which the inactivity timer reads, before posting it
            # sudo: discuss.channel - stock writes it so for whoever posts
            self.sudo().last_interest_dt = interest
        return message

    def _livechat_handed_over_note(self):
        """The staff's note of an operator whom the routing took the session from (they did not
        answer, went away, lost their role), as the session stands now: who answers it, in
        their language, or the queue it waits in. It says in one note what a "left" and a
        "joined" note would."""
        # sudo: res.users, livechat.group - the names the staff reads in the conversation
        session = self.sudo()
        if user := session._livechat_operator_user():
            # the scheduler acts in its own user's language: the note is for who answers now
            text = self.with_context(lang=user.lang).env._(
                "left the conversation: %(user)s answers it now.", user=user.name
            )
        else:
            text = self.env._(
                "left the conversation: it waits in the queue of %(group)s.",
                group=session.livechat_group_id.name,
            )
        return Markup('<div class="o_mail_notification">%s</div>') % text

    def _livechat_check_answer_access(self):
        """Answering a session of a grouped live chat means taking it: a member of its group
        who sees it wait, or a supervisor who did not join it, reads it and may not write in it.
        Only the members of the conversation write (the operator who holds it, the visitor,
        who joined); the routing's own notices are posted by the system."""
        # sudo: discuss.channel - whether this is a grouped session, whoever asks
        for session in self.sudo().filtered("livechat_routing_state"):
            if session.channel_type == "livechat" and not session.is_member:
                self.browse(session.id)._livechat_check_known()
                raise AccessError(
                    self.env._(
                        "You are not in the conversation %(session)s: take the session (or, as a "
                        "supervisor, join it) before you write in it.",
                        session=session.name,
                    )
                )

    def _livechat_routing_fields_refusal(self):
        return self.env._(
            "The routing of a live chat session (its group, operator, requester, state and dates) "
            "changes only when it is taken, assigned, forwarded or closed."
        )

    # ------------------------------------------------------------
    # Helpers shared by the concerns
    # ------------------------------------------------------------

    @api.model
    def _livechat_odoobot(self):
        """OdooBot's partner, who posts the routing's notices and holds a waiting session: by its
        cached id (``env.ref`` checks that the record exists, a query at each call)."""
        return self.env["res.partner"].browse(self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root"))

    def _livechat_operator_user(self):
        """The user who holds this session now (empty when it waits, is closed or is not grouped)."""
        if self.livechat_routing_state != "assigned":
            return self.env["res.users"]
        return self.livechat_operator_user_id

    def _livechat_requester_user(self):
        """The user who asked in this session (internal live chat), if any."""
        # sudo: res.partner - the requester's user, whoever routes
        return self.livechat_requester_id.sudo().with_context(active_test=False).user_ids.with_env(self.env)

    def _livechat_check_known(self):
        """Refuse, naming nothing, a user who has nothing to do with this session's live chat.

        The actions run as superuser once their checks pass, and their refusals name the live
        chat, its groups or the visitor to help the people who work in it ("someone already took
        it", "only the members of Sales may take it"). So before any of them: the caller reads the
        session, or operates or supervises its live chat; anyone else, guessing ids, learns
        neither whether the session exists nor anything of it.
        """
        self.ensure_one()
        if self.env.su:
            return
        user = self.env.user
        # sudo: discuss.channel - whether the session exists and whose live chat it is; nothing is
        # told to a caller unrelated to it
        session = self.sudo().exists()
        channel = session.livechat_channel_id
        if session and (
            self.has_access("read")
            or (
                session.livechat_routing_state
                and (
                    user in channel._operator_group_ids().member_ids or channel._livechat_is_supervisor(user)
                )
            )
        ):
            return
        raise AccessError(
            self.env._("This session does not exist, or it is not one of the live chats you work in.")
        )

    def _livechat_check_staff(self):
        """Refuse a user who does not work in this session's live chat (its operators and
        supervisors), or who is its customer: the dialogs that steer a session show the live
        chat's operators, whether they are available and how busy, which is theirs only."""
        self.ensure_one()
        if self.env.su:
            return
        user = self.env.user
        # sudo: discuss.channel - whose live chat the session is, and who asked in it
        session = self.sudo()
        channel = session.livechat_channel_id
        if (
            session.livechat_routing_state
            and user.partner_id not in session._livechat_customer_partners()
            and (user in channel._operator_group_ids().member_ids or channel._livechat_is_supervisor(user))
        ):
            return
        raise AccessError(
            self.env._(
                "Only the operators and supervisors of its live chat steer a session, never who asked in it."
            )
        )

    def _livechat_check_supervisor(self, refusal):
        """Raise ``refusal`` unless the current user supervises this session's live chat.

        :param str refusal: the translated message, with a ``%(channel)s`` placeholder
        """
        channel = self.livechat_channel_id
        if channel and channel._livechat_is_supervisor(self.env.user):
            return
        raise AccessError(refusal % {"channel": channel.name or self.env._("this live chat")})

    def _livechat_check_open(self):
        if self.channel_type != "livechat" or not self.livechat_routing_state:
            raise UserError(self.env._("This conversation is not a session of a live chat with groups."))
        if self.livechat_routing_state == "closed" or not self.livechat_active:
            raise UserError(self.env._("This session is closed."))

    # ------------------------------------------------------------
    # Arguments of the methods called over RPC
    # ------------------------------------------------------------

    @api.model
    def _livechat_id(self, value):
        """``value`` as a record id, or 0 when it is none (a malformed request): an integer, not
        a boolean, a string or a list."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return 0

    @api.model
    def _livechat_text(self, value, what):
        """``value`` as stripped text, or ``""`` when empty; a clear refusal when it is not text.

        :param str what: how to name the argument in the refusal ("The note")
        """
        if value is None or value is False:
            return ""
        if not isinstance(value, str):
            raise UserError(self.env._("%(what)s must be text.", what=what))
        return value.strip()
