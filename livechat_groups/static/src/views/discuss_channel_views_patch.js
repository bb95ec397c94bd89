import "@im_livechat/views/discuss_channel_kanban/discuss_channel_kanban_view";
import "@im_livechat/views/discuss_channel_list/discuss_channel_list_view";
import { patch } from "@web/core/utils/patch";
import { registry } from "@web/core/registry";
import { KanbanController } from "@web/views/kanban/kanban_controller";
import { ListController } from "@web/views/list/list_controller";

/**
 * Live Chat's session views open a session in Discuss, which only its members can read: a
 * session of a grouped live chat that the user is not a member of (one waiting in their group's
 * queue, or a colleague's) opens in its form instead, where a waiting one can be taken.
 */
for (const [viewKey, BaseController] of [
    ["im_livechat.discuss_channel_kanban", KanbanController],
    ["im_livechat.discuss_channel_list", ListController],
]) {
    const view = registry.category("views").get(viewKey, null);
    if (!view) {
        continue;
    }
    patch(view.Controller.prototype, {
        async openRecord(record) {
            if (record.data.livechat_routing_state && !record.data.is_member) {
                return BaseController.prototype.openRecord.call(this, record);
            }
            return super.openRecord(...arguments);
        },
    });
}
