import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";

/**
 * The bus channels of live chat groups and of the live chats one supervises follow one's
 * memberships: when they change, the server asks the web client to subscribe again.
 *
 * An operator given a session by someone else (the routing, a supervisor, a colleague's
 * forward) is told, and the session opens, as after a Take; in Discuss, it does not replace a
 * conversation the operator is in the middle of.
 */
export const livechatGroupsBusService = {
    dependencies: ["bus_service", "mail.store", "notification"],
    start(env, { bus_service, "mail.store": store, notification }) {
        bus_service.subscribe("livechat_groups.resubscribe", () => bus_service.forceUpdateChannels());
        bus_service.subscribe("livechat_groups/session_given", async ({ id, message }) => {
            const thread = await store.Thread.getOrFetch({ model: "discuss.channel", id });
            if (!thread) {
                return;
            }
            const close = notification.add(message, {
                type: "info",
                buttons: [
                    {
                        name: _t("Open"),
                        primary: true,
                        onClick: () => {
                            thread.open();
                            close();
                        },
                    },
                ],
            });
            const current = store.discuss?.isActive && store.discuss.thread;
            const busy =
                current &&
                current.notEq(thread) &&
                current.channel_type === "livechat" &&
                current.livechat_active &&
                current.livechat_routing_state === "assigned";
            if (!busy) {
                thread.open();
            }
        });
    },
};

registry.category("services").add("livechat_groups.bus", livechatGroupsBusService);
