import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

/** An operator answers a WhatsApp customer in Discuss; the answer waits to be sent. */
tours.add("livechat_groups_messenger_answer", {
    steps: () => [
        {
            content: "The customer's WhatsApp message is in the conversation",
            trigger: ".o-mail-Message:contains(Hello, my parcel did not arrive)",
        },
        {
            content: "Write the answer",
            trigger: ".o-mail-Composer-input",
            run: "edit Sorry about that, I am checking it now",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "The answer is on its way to the customer",
            trigger:
                ".o-mail-Message:contains(I am checking it now) .o_livechat_groups_delivery:contains(Sending to the customer)",
        },
    ],
});

/** Later, the operator sees that the customer read it. */
tours.add("livechat_groups_messenger_read", {
    steps: () => [
        {
            content: "WhatsApp said the customer read the answer",
            trigger:
                ".o-mail-Message:contains(I am checking it now) .o_livechat_groups_delivery:contains(Read by the customer)",
        },
    ],
});
