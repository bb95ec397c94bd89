from odoo import fields, models
from odoo.exceptions import AccessError

from odoo.addons.rating.models.rating_data import _rating_to_text

# how many earlier sessions the side panel lists
HISTORY_LIMIT = 30


class DiscussChannel(models.Model):
    """One customer across channels: the session's side panel lists the customer's earlier
    sessions on every channel (website, WhatsApp, Telegram, internal), read with the reader's
    rights, so that nobody learns anything of a live chat they may not read."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    def _livechat_history_customers(self):
        """The contacts this session is for, by every link stock and the addon make: the
        employee or logged-in visitor who asked, the messenger's customer (matched by number
        or chat id), and with ``website_livechat`` the contact of the website visitor (linked
        when they log in)."""
        customers = self._livechat_customer_partners()
        if "livechat_visitor_id" in self._fields:
            # sudo: website.visitor - only which contact the visitor is, of a session the reader reads
            customers |= self.sudo().livechat_visitor_id.partner_id.with_env(self.env)
        return customers

    def livechat_customer_history(self):
        """The customer's earlier sessions, most recent first, as the side panel shows them.

        Searched with the reader's rights: an operator reads the sessions they held or take
        part in, a supervisor those of the live chats they supervise, a Live Chat administrator
        all of them. Only Live Chat users may ask, about a session they may read; the customer
        of the session learns nothing of it.

        :return: list of dicts: ``id``, ``date`` (UTC), ``medium`` and ``medium_label``,
            ``livechat``, ``group``, ``operator``, ``outcome``, ``rating``, ``url``
        """
        self.ensure_one()
        if not self.env.user.has_group("im_livechat.im_livechat_group_user"):
            raise AccessError(self.env._("Only Live Chat operators read a customer's earlier sessions."))
        self.check_access("read")
        customers = self._livechat_history_customers()
        if self.channel_type != "livechat" or not customers or self.env.user.partner_id in customers:
            return []
        links = [
            [("livechat_requester_id", "in", customers.ids)],
            [("livechat_messenger_partner_id", "in", customers.ids)],
        ]
        if "livechat_visitor_id" in self._fields:
            # sudo: website.visitor - the visitors who are these contacts; the sessions are searched with the reader's rights
            visitors = self.env["website.visitor"].sudo().search([("partner_id", "in", customers.ids)])
            links.append([("livechat_visitor_id", "in", visitors.ids)])
        domain = [("channel_type", "=", "livechat"), ("id", "!=", self.id)]
        domain += ["|"] * (len(links) - 1) + [leaf for link in links for leaf in link]
        sessions = self.search(domain, order="create_date desc, id desc", limit=HISTORY_LIMIT)
        # sudo: livechat.session.transfer - only whether sessions the reader reads were forwarded
        forwarded = {
            session.id
            for [session] in self.env["livechat.session.transfer"]
            .sudo()
            ._read_group([("session_id", "in", sessions.ids), ("kind", "=", "forward")], ["session_id"])
        }
        mediums = dict(self._fields["livechat_medium"]._description_selection(self.env))
        ratings = dict(self.env["rating.rating"]._fields["rating_text"]._description_selection(self.env))
        return [
            {
                "id": session.id,
                "date": fields.Datetime.to_string(session.create_date),
                "medium": "internal"
                if session.livechat_channel_id.audience == "internal"
                else session.livechat_medium,
                "medium_label": (
                    self.env._("Internal")
                    if session.livechat_channel_id.audience == "internal"
                    else mediums.get(session.livechat_medium, "")
                ),
                "livechat": session.livechat_channel_id.name or "",
                "group": session.livechat_group_id.name or "",
                "operator": session.livechat_operator_user_id.name or "",
                "outcome": session._livechat_history_outcome(session.id in forwarded),
                "rating": ratings[_rating_to_text(session.rating_last_value)]
                if session.rating_last_value
                else "",
                "url": f"/odoo/action-im_livechat.discuss_channel_action/{session.id}",
            }
            for session in sessions
        ]

    def _livechat_history_outcome(self, forwarded):
        """How the session went, in a few words."""
        if self.livechat_routing_state == "queued":
            return self.env._("Waiting")
        if self.livechat_active and self.livechat_routing_state == "assigned":
            outcome = self.env._("In progress")
        elif not self.livechat_operator_user_id:
            outcome = self.env._("Left before an operator came")
        else:
            outcome = self.env._("Closed")
        return self.env._("%(outcome)s, after a forward", outcome=outcome) if forwarded else outcome
