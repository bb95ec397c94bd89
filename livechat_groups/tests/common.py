import json
import shutil
from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, TransactionCase, new_test_user
from odoo.tools import html2plaintext

from odoo.addons.livechat_groups.models import livechat_routing
from odoo.addons.mail.tools.discuss import Store

# The website widget lives in a shadow root, which tours do not reach: a visitor in it is played
# by a script (``browser_js``), which starts with these helpers. ``waitFor(selector, text)``
# waits up to 30 s for an element of the widget (with ``text``) and fails with what the widget
# shows; ``write(text)`` sends a message from its composer and waits for it.
WIDGET_HELPERS = """
        const root = () => document.querySelector(".o-livechat-root")?.shadowRoot;
        const MESSAGES = ".o-mail-Message, .o-mail-NotificationMessage";
        const texts = () => [...(root()?.querySelectorAll(MESSAGES) || [])].map((el) => el.textContent);
        const waitFor = async (selector, text) => {
            for (let i = 0; i < 300; i++) {
                const found = [...(root()?.querySelectorAll(selector) || [])].find(
                    (el) => !text || el.textContent.includes(text)
                );
                if (found) {
                    return found;
                }
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            throw new Error(`not shown: ${selector} ${text || ""} in: ${texts().join(" | ")}`);
        };
        const write = async (text) => {
            const composer = await waitFor(".o-mail-Composer-input");
            composer.value = text;
            composer.dispatchEvent(new Event("input", { bubbles: true }));
            composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
            await waitFor(MESSAGES, text);
        };
"""


class Killed(BaseException):
    """A worker killed (SIGKILL) where this is raised: no ``except Exception`` of the code
    under test runs, as none runs in a killed process."""


class CommitPoints:
    """The commits of a scheduled action, inside a test's transaction (which never commits):
    each ``cr.commit()`` releases a savepoint and opens the next, and :meth:`kill` rolls back
    to the last one, as PostgreSQL rolls back the open transaction of a worker killed mid-way.
    Use as a context manager around the scheduled action's run, with ``auto_commit=True``."""

    def __init__(self, test):
        self.test = test
        self.cr = test.env.cr
        self.commits = 0
        self.savepoint = None

    def __enter__(self):
        self.savepoint = self.cr.savepoint(flush=False)
        self.test.patch(self.cr, "commit", self.commit)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is Killed:
            self.kill()
            return True
        self.savepoint.close(rollback=False)
        return False

    def commit(self):
        self.cr.flush()
        self.savepoint.close(rollback=False)
        self.commits += 1
        self.savepoint = self.cr.savepoint(flush=False)

    def kill(self):
        """What PostgreSQL does when the worker dies: its open transaction is rolled back."""
        self.savepoint.close(rollback=True)
        self.cr.precommit.clear()
        self.test.env.invalidate_all()


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
        """Mark ``users`` offline."""
        self.env["bus.presence"].search([("user_id", "in", [u.id for u in users])]).status = "offline"

    def _get_session(self, livechat, name="Visitor", previous_operator=None):
        """Start a session as a website visitor does; return it."""
        self._new_visitor()
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

    def _new_visitor(self):
        """The next requests are a new anonymous visitor's: logged out, and without the last
        one's guest cookie (a guest who asks again within a minute is given their session)."""
        self.url_open("/web/session/logout")
        self.opener.cookies.set(self.env["mail.guest"]._cookie_name, None)

    def assertHeldBy(self, session, user, group):
        """``session`` is held by ``user`` for ``group``, who is in the conversation."""
        self.assertEqual(session.livechat_routing_state, "assigned")
        self.assertEqual(session.livechat_operator_id, user.partner_id)
        self.assertEqual(session.livechat_group_id, group)
        self.assertIn(user.partner_id, session.channel_member_ids.partner_id)
        self.assertTrue(session.livechat_assigned_date)

    def assertWaiting(self, session, group, position):
        """``session`` waits in ``group``'s queue, and its notice tells the visitor their place."""
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, group)
        self.assertTrue(session.livechat_queued_date)
        self.assertFalse(session.livechat_assigned_date)
        notice = session.message_ids[:1]
        self.assertIn(f"you are number {position} in the queue of {group.name}", self._shown_text(notice))

    def _shown_text(self, message):
        """The text of ``message`` as Discuss and the visitor's widget load it (a queue notice
        with its live place), as plain text."""
        return html2plaintext(Store(message).get_result()["mail.message"][0]["body"])


class LivechatGroupsRpcMixin:
    """Calls made the way a web client, a visitor's widget or an attacker makes them: JSON-RPC
    over HTTP (with :class:`LivechatGroupsHttpCase`), with the state they may change."""

    def _jsonrpc(self, route, params):
        """A JSON-RPC request; return the whole answer, its error with its message included."""
        response = self.url_open(
            route,
            json.dumps({"id": 0, "jsonrpc": "2.0", "method": "call", "params": params}).encode(),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()
        return response.json()

    def _rpc(self, user, model, method, *args, **kwargs):
        """Call ``model.method(*args, **kwargs)`` as ``user`` over JSON-RPC, as a web client does."""
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _rpc_answer(self, user, model, method, *args, **kwargs):
        """The call of :meth:`_rpc`; return the whole answer, its error included."""
        self.authenticate(user.login, user.login)
        return self._jsonrpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _refused(self, error, regex, route, params):
        """``route`` answers ``params`` with ``error`` (an exception's name) saying ``regex``."""
        with self.assertLogs("odoo.http", "WARNING"):
            answer = self._jsonrpc(route, params)
        self.assertIn("error", answer, f"refused: {answer}")
        self.assertIn(error, answer["error"]["data"]["name"])
        if regex:
            self.assertRegex(answer["error"]["data"]["message"], regex)
        self.env.invalidate_all()

    def _rpc_refused(self, error, regex, user, model, method, *args, **kwargs):
        """The call of :meth:`_rpc`, refused with ``error`` saying ``regex``."""
        self.authenticate(user.login, user.login)
        self._refused(
            error,
            regex,
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _ask_internal(self, user, livechat=None):
        """``user`` asks an internal live chat (by default the scenario's) from Discuss, over
        JSON-RPC; return the session."""
        livechat = livechat or self.internal_livechat
        data = self._rpc(user, "im_livechat.channel", "livechat_start_session", livechat.ids)
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _as_visitor(self, session):
        """Call the next routes as the visitor of ``session`` (their guest cookie)."""
        guest = session.channel_member_ids.guest_id
        self.url_open("/web/session/logout")
        self.opener.cookies[guest._cookie_name] = guest._format_auth_cookie()

    def _visitor_says(self, session, body):
        """The visitor of ``session`` writes ``body`` from their widget (the real route)."""
        self._as_visitor(session)
        return self.make_jsonrpc_request("/mail/message/post", self._post_params(session, body))

    def _guest_messages(self, session):
        """What the visitor's widget loads: the bodies of the conversation's messages, the
        replied-to ones included."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        return json.dumps(data)

    def _post_params(self, session, body, **post_data):
        """The parameters of ``/mail/message/post`` for a comment ``body`` in ``session``."""
        return {
            "thread_model": "discuss.channel",
            "thread_id": session.id,
            "post_data": {
                "body": body,
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
                **post_data,
            },
        }

    def _post(self, user, session, body, **post_data):
        """``user`` writes ``body`` in ``session`` from Discuss (the real route)."""
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request("/mail/message/post", self._post_params(session, body, **post_data))

    def _post_refused(self, user, session, body, regex):
        """The post of :meth:`_post`, refused with an AccessError saying ``regex``."""
        self.authenticate(user.login, user.login)
        self._refused("AccessError", regex, "/mail/message/post", self._post_params(session, body))

    def _routing(self, *sessions):
        """What the routing holds of each of ``sessions``, with their members and messages:
        compared before and after a refused call."""
        self.env.invalidate_all()
        return [
            (
                s.livechat_routing_state,
                s.livechat_group_id,
                s.livechat_operator_id,
                s.channel_member_ids.partner_id,
                len(s.livechat_transfer_ids),
                len(s.message_ids),
            )
            for s in sessions
        ]

    def _holder(self, session):
        """What the routing holds of ``session``, with its members (not its messages: a
        chatbot may write)."""
        self.env.invalidate_all()
        return (
            session.livechat_routing_state,
            session.livechat_group_id,
            session.livechat_operator_id,
            session.channel_member_ids.partner_id,
            len(session.livechat_transfer_ids),
        )


class LivechatGroupsChatbotMixin:
    """Chatbots that hand the visitor over to an operator (with :class:`LivechatGroupsRpcMixin`)."""

    def _chatbot(self):
        """A chatbot of the external live chat: it greets, then forwards to an operator."""
        script = self.env["chatbot.script"].create(
            {
                "title": "Helper Bot",
                "script_step_ids": [
                    Command.create({"step_type": "text", "message": "Hello!"}),
                    Command.create({"step_type": "forward_operator", "message": "One moment."}),
                ],
            }
        )
        self.external_livechat.rule_ids = [
            Command.create({"regex_url": "/", "chatbot_script_id": script.id, "action": "auto_popup"})
        ]
        return script

    def _chatbot_session(self, script):
        """A visitor's session of the external live chat, started with ``script``."""
        self.url_open("/web/session/logout")
        self.opener.cookies.set(self.env["mail.guest"]._cookie_name, None)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {
                "channel_id": self.external_livechat.id,
                "anonymous_name": "Bot visitor",
                "chatbot_script_id": script.id,
                "persisted": True,
            },
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _forward_bot(self):
        """A chatbot whose first step hands the visitor over to an operator; it belongs to no
        live chat: a visitor names it by its id."""
        return self.env["chatbot.script"].create(
            {
                "title": "Forward Bot",
                "script_step_ids": [
                    Command.create({"step_type": "forward_operator", "message": "One moment."}),
                ],
            }
        )

    def _restart_bot(self, session, script):
        """What the visitor's widget sends to restart a chatbot and run its first step."""
        self._as_visitor(session)
        params = {"channel_id": session.id, "chatbot_script_id": script.id}
        self._jsonrpc("/chatbot/restart", params)
        return self._jsonrpc("/chatbot/step/trigger", params)


class ManyMembersMixin:
    """The same stories, with the decision reading each member's facts by hash joins over whole
    tables, as it does from a few hundred members on, instead of by index lookups: a subclass
    ``TestXManyMembers(ManyMembersMixin, TestX)`` re-runs every test of ``TestX`` on that plan."""

    allow_inherited_tests_method = True  # Odoo's loader runs a class's own test methods only

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(livechat_routing, "FEW_MEMBERS", 0))


class LivechatGroupsCase(LivechatGroupsScenario, TransactionCase):
    """The reference scenario, for tests through the ORM."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()


class LivechatGroupsHttpCase(LivechatGroupsScenario, HttpCase):
    """The reference scenario, for tests through HTTP routes and JSON-RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()


class LivechatGroupsRoutingCase(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """The routing stories' fixture: the external live chat as ``livechat``, two sessions per
    operator at the most."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat = cls.external_livechat
        cls.livechat.max_sessions_per_operator = 2


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

    def _wake_websockets_after(self, model, method):
        """Let the browser's bus run as in production for what ``model.method`` sends. Odoo
        refuses websockets during tests unless a test allows them (as its WebsocketCase does);
        and a test's transaction is never committed, so PostgreSQL never delivers the bus's
        NOTIFY: wake the websockets up when ``method`` has run, as
        WebsocketCase.trigger_notification_dispatching does."""
        from odoo.addons.bus.models.bus import dispatch
        from odoo.addons.bus.websocket import WebsocketConnectionHandler

        self.patch(WebsocketConnectionHandler, "websocket_allowed", classmethod(lambda cls, request: True))
        # what the test's set-up sent (never committed, so never delivered) would come all at
        # once to the first websocket, and move Discuss elsewhere
        self.env["bus.bus"].sudo().search([]).unlink()
        Model = self.registry[model]
        original = getattr(Model, method)

        def wrapped(records, *args, **kwargs):
            result = original(records, *args, **kwargs)

            @records.env.cr.precommit.add
            def wake_websockets():
                for websockets in list(dispatch._channels_to_ws.values()):
                    for websocket in list(websockets):
                        websocket.trigger_notification_dispatching()

            return result

        self.patch(Model, method, wrapped)

    def _discuss(self, session):
        """The address of ``session`` in Discuss."""
        return f"/odoo/discuss?active_id=discuss.channel_{session.id}"
