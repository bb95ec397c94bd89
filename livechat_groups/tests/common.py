import shutil
from contextlib import contextmanager

from odoo import Command, fields
from odoo.tests import HttpCase, TransactionCase, new_test_user


class LivechatGroupsScenario:
    """The reference scenario of the product guide, built once per test class: an external
    live chat (General Support → Sales, Tech Support) and an internal one (General Helpdesk →
    Accounting, HR), each with its supervisors."""

    @classmethod
    def _setup_scenario(cls):
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, no_reset_password=True))
        cls.admin = cls._user(
            "lc_admin", "base.group_user,im_livechat.im_livechat_group_manager", name="Lea Admin"
        )
        cls.livechat_user = cls._user(
            "lc_user", "base.group_user,im_livechat.im_livechat_group_user", name="Luc User"
        )
        cls.employee = cls._user("employee", "base.group_user", name="Eve Employee")
        cls.portal = cls._user("portal", "base.group_portal", name="Paul Portal")

        cls.ext_supervisor = cls._user("ext_supervisor", name="Xena Supervisor")
        cls.support_1 = cls._user("support_1", name="Sonia Support")
        cls.support_2 = cls._user("support_2", name="Simon Support")
        cls.sales_1 = cls._user("sales_1", name="Selma Sales")
        cls.sales_2 = cls._user("sales_2", name="Silas Sales")
        cls.tech_1 = cls._user("tech_1", name="Theo Tech")
        cls.int_supervisor = cls._user("int_supervisor", name="Iris Supervisor")
        cls.helpdesk_1 = cls._user("helpdesk_1", name="Hugo Helpdesk")
        cls.accounting_1 = cls._user("accounting_1", name="Ada Accounting")
        cls.hr_1 = cls._user("hr_1", name="Hector Hr")

        Group = cls.env["livechat.group"]
        cls.group_ext_supervisors = Group.create(
            {"name": "External Supervisors", "user_ids": [Command.set(cls.ext_supervisor.ids)]}
        )
        cls.group_support = Group.create(
            {
                "name": "General Support",
                "sequence": 1,
                "user_ids": [Command.set((cls.support_1 | cls.support_2).ids)],
            }
        )
        cls.group_sales = Group.create(
            {"name": "Sales Department", "user_ids": [Command.set((cls.sales_1 | cls.sales_2).ids)]}
        )
        cls.group_tech = Group.create({"name": "Tech Support", "user_ids": [Command.set(cls.tech_1.ids)]})
        cls.group_employees = Group.create(
            {"name": "All Employees", "system_group_ids": [Command.set(cls.env.ref("base.group_user").ids)]}
        )
        cls.group_int_supervisors = Group.create(
            {"name": "Internal Supervisors", "user_ids": [Command.set(cls.int_supervisor.ids)]}
        )
        cls.group_helpdesk = Group.create(
            {"name": "General Helpdesk", "user_ids": [Command.set(cls.helpdesk_1.ids)]}
        )
        cls.group_accounting = Group.create(
            {"name": "Accounting Department", "user_ids": [Command.set(cls.accounting_1.ids)]}
        )
        cls.group_hr = Group.create({"name": "HR Department", "user_ids": [Command.set(cls.hr_1.ids)]})

        cls.scenario_groups = Group.search([("id", ">=", cls.group_ext_supervisors.id)])

        Channel = cls.env["im_livechat.channel"]
        cls.external_livechat = Channel.create(
            {
                "name": "External Live Chat",
                "user_ids": [Command.clear()],
                "entry_group_ids": [Command.set(cls.group_support.ids)],
                "specialist_group_ids": [Command.set((cls.group_sales | cls.group_tech).ids)],
                "supervisor_group_ids": [Command.set(cls.group_ext_supervisors.ids)],
            }
        )
        cls.internal_livechat = Channel.create(
            {
                "name": "Internal Live Chat",
                "audience": "internal",
                "user_ids": [Command.clear()],
                "requester_group_ids": [Command.set(cls.group_employees.ids)],
                "entry_group_ids": [Command.set(cls.group_helpdesk.ids)],
                "specialist_group_ids": [Command.set((cls.group_accounting | cls.group_hr).ids)],
                "supervisor_group_ids": [Command.set(cls.group_int_supervisors.ids)],
            }
        )

    @contextmanager
    def assertRefused(self, exception, regex):
        """Expect ``exception`` matching ``regex``, and roll back what the refused call did
        before raising, as a real request would, so that the test can check nothing changed."""
        with self.assertRaisesRegex(exception, regex) as caught, self.env.cr.savepoint():
            yield caught
        self.env.invalidate_all()

    @classmethod
    def _user(cls, login, groups="base.group_user", **values):
        """Create an internal (or ``groups``) user whose password is their login, as tours expect."""
        login = f"lcg_{login}"
        return new_test_user(cls.env, login=login, groups=groups, password=login, **values)


class LivechatGroupsWebsocketMixin:
    """For tests over Odoo's real /websocket (with ``bus.tests.common.WebsocketCase``)."""

    def _connect(self, user):
        """Open the websocket of ``user``'s web client, subscribed to their own channels."""
        session = self.authenticate(user.login, user.login)
        websocket = self.websocket_connect(cookie=f"session_id={session.sid};")
        self.subscribe(websocket, [], self.env["bus.bus"]._bus_last_id())
        return websocket


class LivechatGroupsRoutingMixin:
    """Helpers to start sessions the way the website does, through the real route."""

    def _online(self, *users):
        """Mark ``users`` online, as their Discuss would."""
        for user in users:
            presence = self.env["bus.presence"].search([("user_id", "=", user.id)])
            if presence:
                presence.status = "online"
            else:
                self.env["bus.presence"].create({"user_id": user.id, "status": "online"})

    def _queued_session(self, livechat, name):
        """A session waiting in the first entry group of ``livechat``, made by the ORM: for an
        internal live chat, whose sessions do not start from the website."""
        return self.env["discuss.channel"].create(
            {
                "name": name,
                "channel_type": "livechat",
                "livechat_channel_id": livechat.id,
                "livechat_active": True,
                "livechat_visitor_name": name,
                "livechat_group_id": livechat.entry_group_ids[:1].id,
                "livechat_routing_state": "queued",
                "livechat_operator_id": self.env.ref("base.partner_root").id,
                "livechat_queued_date": fields.Datetime.now(),
            }
        )

    def _offline(self, *users):
        self.env["bus.presence"].search([("user_id", "in", [u.id for u in users])]).status = "offline"

    def _get_session(self, livechat, name="Visitor", previous_operator=None):
        """Start a session as a website visitor does; return it."""
        self.url_open("/web/session/logout")  # a new anonymous visitor each time
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {
                "channel_id": livechat.id,
                "anonymous_name": name,
                "previous_operator_id": previous_operator and previous_operator.partner_id.id,
            },
        )
        self.assertTrue(data, "a grouped live chat never refuses a session")
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])


class LivechatGroupsCase(LivechatGroupsScenario, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()


class LivechatGroupsHttpCase(LivechatGroupsScenario, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()


class LivechatGroupsTourCase(LivechatGroupsHttpCase):
    """Tours must run: Odoo skips a browser test silently when Chromium or websocket-client
    is missing, so we fail instead."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            import websocket  # noqa: F401
        except ImportError as error:
            raise AssertionError("websocket-client is not installed: tours cannot run") from error
        if not any(shutil.which(name) for name in ("chromium", "google-chrome", "chromium-browser")):
            raise AssertionError("Chromium is not installed: tours cannot run")
