from odoo import http
from odoo.http import request
from odoo.tools import config

from odoo.addons.mail.controllers.discuss.channel import ChannelController
from odoo.addons.mail.tools.discuss import Store
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


class LivechatGroupsChannelController(ChannelController):
    @http.route()
    def discuss_channel_info(self, channel_id):
        """Stock's, except that a conversation the read replica does not show to the user is
        looked for on the primary: the bus told them of it (a session they were given, that the
        lagging replica still shows as another operator's), and Discuss drops a conversation it
        cannot load."""
        info = super().discuss_channel_info(channel_id)
        # served by a replica (as Odoo decides to use one: odoo/modules/registry.py)
        if info is None and request.env.cr.readonly and config["db_replica_host"] is not False:
            with request.env.registry.cursor() as cr:
                channel = request.env(cr=cr)["discuss.channel"].search([("id", "=", channel_id)])
                return Store(channel).get_result() if channel else None
        return info
