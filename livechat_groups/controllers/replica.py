from odoo import http
from odoo.http import request

from odoo.addons.web.controllers.dataset import DataSet

# in the context of a call_kw: read on the primary database, not on a read replica
PRIMARY_CONTEXT_KEY = "livechat_groups_primary"


def _call_kw_readonly(controller):
    """Stock's choice (a method marked ``@api.readonly`` is served by the read replica, when
    there is one), except for the reads that follow a change the reader was told of: the
    supervision board reloaded on the bus reads what produced the news, not what a lagging
    replica still holds (``livechat_groups_primary`` in the call's context)."""
    params = request.get_json_data().get("params") or {}
    kwargs = params.get("kwargs") if isinstance(params, dict) else None
    context = kwargs.get("context") if isinstance(kwargs, dict) else None
    if isinstance(context, dict) and context.get(PRIMARY_CONTEXT_KEY):
        return False
    return DataSet._call_kw_readonly(controller)


class LivechatGroupsDataSet(DataSet):
    @http.route(readonly=_call_kw_readonly)
    def call_kw(self, model, method, args, kwargs, path=None):
        return super().call_kw(model, method, args, kwargs, path=path)
