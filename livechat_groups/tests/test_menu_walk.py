from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged
from odoo.tools.safe_eval import datetime, safe_eval, time


@tagged("post_install", "-at_install")
class TestMenuWalk(TransactionCase):
    """Every menu a demo role sees opens without an access error: for each visible menu with a
    window action, load its views and read its records as the web client does (the list,
    kanban and form fields, with the names of linked records)."""

    def _eval(self, value, user, active_id=False):
        if not value or not isinstance(value, str):
            return value or []
        context = {
            "uid": user.id,
            "user": user,
            "active_id": active_id,
            "active_ids": [active_id] if active_id else [],
            "context_today": datetime.date.today,
            "datetime": datetime,
            "time": time,
            "allowed_company_ids": user.company_ids.ids,
            "current_company_id": user.company_id.id,
        }
        return safe_eval(value, context)

    def _specification(self, model, fields_info, arch):
        """What the web client reads for the fields of one view."""
        names = {node.get("name") for node in etree.fromstring(arch).iter("field")} & set(model._fields)
        spec = {}
        for name in names:
            field = model._fields[name]
            if field.type == "many2one":
                spec[name] = {"fields": {"display_name": {}}}
            elif field.type in ("one2many", "many2many"):
                spec[name] = {}
            else:
                spec[name] = {}
        return spec

    def _walk(self, user):
        env = self.env(user=user)
        menus = env["ir.ui.menu"].browse(env["ir.ui.menu"]._visible_menu_ids())
        walked = []
        for menu in menus.filtered(lambda m: m.action and m.action._name == "ir.actions.act_window"):
            if self._walk_action(menu.action, user, f"{user.login}: {menu.complete_name}"):
                walked.append(menu.complete_name)
        return walked

    def _walk_action(self, action, user, label, active_id=False):
        """Open ``action`` as ``user`` the way the web client does; fail on an access error.

        :return: whether the action was walked (its model is installed)
        """
        env = self.env(user=user)
        # sudo: the test reads the action's definition, then runs it as the user
        action = action.sudo()
        if action.res_model not in env:
            return False
        context = dict(self._eval(action.context, user, active_id) or {})
        context = {key: value for key, value in context.items() if not key.startswith("search_default")}
        model = env[action.res_model].with_context(**context)
        domain = self._eval(action.domain, user, active_id)
        view_types = [mode for mode in action.view_mode.split(",") if mode in ("list", "kanban", "form")]
        label = f"{label} ({action.res_model})"
        with self.subTest(action=label):
            try:
                views = model.get_views([(False, view_type) for view_type in view_types])
                records = model.browse()
                for view_type in view_types:
                    spec = self._specification(model, views["models"], views["views"][view_type]["arch"])
                    if view_type == "form":
                        if records:
                            records[:1].web_read(spec)
                    else:
                        result = model.web_search_read(domain, spec, limit=80)
                        records = model.browse([row["id"] for row in result["records"]])
            except AccessError as error:
                self.fail(f"{label}: {error}")
        return True

    def test_operator_supervisor_employee_open_every_menu(self):
        ref = self.env.ref
        for xmlid in (
            "livechat_groups.user_support_1",  # gary, a general operator
            "livechat_groups.user_sales_1",  # a specialist
            "livechat_groups.user_ext_supervisor",  # elena, a supervisor
            "livechat_groups.user_employee",  # emma, an employee
        ):
            user = ref(xmlid)
            walked = self._walk(user)
            self.assertTrue(walked, f"{user.login} sees no menu")
        # Live Chat > Channels > a live chat > Sessions, where the operator met an access error
        sessions = ref("im_livechat.discuss_channel_action_from_livechat_channel")
        for xmlid in ("livechat_groups.user_support_1", "livechat_groups.user_ext_supervisor"):
            for channel in ref("livechat_groups.channel_external") | ref("livechat_groups.channel_internal"):
                self.assertTrue(
                    self._walk_action(sessions, ref(xmlid), f"{channel.name} sessions", channel.id)
                )
