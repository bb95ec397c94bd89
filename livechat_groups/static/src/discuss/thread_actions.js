import { threadActionsRegistry } from "@mail/core/common/thread_actions";
import { _t } from "@web/core/l10n/translation";

threadActionsRegistry.add("livechat-groups-forward", {
    /** The operator of a live chat session hands it to another group or expert. */
    condition(component) {
        const thread = component.thread;
        return (
            thread?.model === "discuss.channel" &&
            thread.channel_type === "livechat" &&
            thread.livechat_active &&
            thread.operator?.eq(component.store.self) &&
            (!component.props.chatWindow || component.props.chatWindow.isOpen)
        );
    },
    icon: "fa fa-fw fa-share",
    iconLarge: "fa fa-fw fa-lg fa-share",
    name: _t("Forward"),
    open(component) {
        const thread = component.thread;
        const chatWindow = component.props.chatWindow;
        component.env.services.action.doAction("livechat_groups.livechat_session_forward_action", {
            additionalContext: { active_id: thread.id, default_session_id: thread.id },
            onClose: (infos) => {
                if (infos?.left) {
                    // The server took us out of the conversation; its bus notice may come
                    // later, so let Discuss move on now, as it does on that notice.
                    component.store.insert({
                        "discuss.channel": { id: thread.id, is_pinned: false, isLocallyPinned: false },
                    });
                    chatWindow?.close();
                }
            },
        });
    },
    sequence: 35,
});
