import { threadActionsRegistry } from "@mail/core/common/thread_actions";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { _t } from "@web/core/l10n/translation";

/** Whether the current user is the operator of this open live chat session, in an open window. */
function holdsSession(component) {
    const thread = component.thread;
    return (
        thread?.model === "discuss.channel" &&
        thread.channel_type === "livechat" &&
        thread.livechat_active &&
        thread.operator?.eq(component.store.self) &&
        (!component.props.chatWindow || component.props.chatWindow.isOpen)
    );
}

/** Show at once what the server just posted in ``thread``, even before the bus brings it. */
async function fetchNewMessages(thread) {
    const fetched = await thread.fetchMessages({ after: thread.newestPersistentMessage?.id });
    const known = new Set(thread.messages.map((message) => message.id));
    thread.messages.push(...fetched.filter((message) => !known.has(message.id)));
}

threadActionsRegistry.add("livechat-groups-forward", {
    /** The operator of a live chat session hands it to another group or expert. */
    condition: holdsSession,
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
                    // Discuss moves on to the operator's next live chat session (or the inbox),
                    // rather than to the first channel of the sidebar.
                    const discuss = component.store.discuss;
                    if (discuss.isActive && thread.eq(discuss.thread)) {
                        const next = discuss.livechats.find(
                            (other) => other.notEq(thread) && (other.displayToSelf || other.isLocallyPinned)
                        );
                        (next || component.store.inbox).setAsDiscussThread();
                    }
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

threadActionsRegistry.add("livechat-groups-messenger-template", {
    /** Past WhatsApp's 24-hour window, only an approved template reaches the customer. */
    condition(component) {
        return holdsSession(component) && component.thread.livechatMedium === "whatsapp";
    },
    icon: "fa fa-fw fa-whatsapp",
    iconLarge: "fa fa-fw fa-lg fa-whatsapp",
    name: _t("Send a WhatsApp template"),
    open(component) {
        const thread = component.thread;
        component.env.services.action.doAction("livechat_groups.livechat_messenger_template_send_action", {
            additionalContext: { active_id: thread.id, default_session_id: thread.id },
            // the template is in the conversation at once, even before the bus brings it
            onClose: () => fetchNewMessages(thread),
        });
    },
    sequence: 36,
});

threadActionsRegistry.add("livechat-groups-close", {
    /** The operator of a live chat session ends it: the visitor is told, and the operator's
     * place is free at once for the next session (unpinning only hides it). */
    condition(component) {
        return holdsSession(component) && component.thread.livechat_routing_state === "assigned";
    },
    icon: "fa fa-fw fa-check-square-o",
    iconLarge: "fa fa-fw fa-lg fa-check-square-o",
    name: _t("Close the Session"),
    open(component) {
        const thread = component.thread;
        const { dialog, notification, orm } = component.env.services;
        dialog.add(ConfirmationDialog, {
            title: _t("Close this session?"),
            body: _t(
                "%(visitor)s will be told that the conversation ended, and you will be free for the next session.",
                { visitor: thread.displayName }
            ),
            confirmLabel: _t("Close the Session"),
            confirm: async () => {
                await orm.call("discuss.channel", "action_livechat_close", [[thread.id]]);
                // the conversation shows its end at once, even before the bus brings it
                Object.assign(thread, { livechat_active: false, livechat_routing_state: "closed" });
                await fetchNewMessages(thread);
                notification.add(_t("The session with %(visitor)s is closed.", { visitor: thread.displayName }), {
                    type: "success",
                });
            },
            cancel: () => {},
        });
    },
    sequence: 37,
});
