import { registry } from "@web/core/registry";

/**
 * The bus channels of live chat groups and of the live chats one supervises follow one's
 * memberships: when they change, the server asks the web client to subscribe again.
 */
export const livechatGroupsBusService = {
    dependencies: ["bus_service"],
    start(env, { bus_service }) {
        bus_service.subscribe("livechat_groups.resubscribe", () => bus_service.forceUpdateChannels());
    },
};

registry.category("services").add("livechat_groups.bus", livechatGroupsBusService);
