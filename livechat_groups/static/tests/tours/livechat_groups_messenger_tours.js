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

/** Later, the operator sees that the customer read it, and follows up with a template. */
tours.add("livechat_groups_messenger_read", {
    steps: () => [
        {
            content: "WhatsApp said the customer read the answer",
            trigger:
                ".o-mail-Message:contains(I am checking it now) .o_livechat_groups_delivery:contains(Read by the customer)",
        },
        {
            content: "Send an approved template",
            trigger: ".o-mail-Discuss-header button[name='livechat-groups-messenger-template']",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=template_id] input",
            run: "edit follow_up",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(follow_up)",
            run: "click",
        },
        {
            content: "The dialog shows what the template says",
            trigger: ".modal .o_field_widget[name=body]:contains(Your parcel left our warehouse)",
        },
        {
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "The template is in the conversation, on its way",
            trigger:
                ".o-mail-Message:contains(Your parcel left our warehouse) .o_livechat_groups_delivery:contains(Sending to the customer)",
        },
    ],
});

/** WhatsApp cannot be reached: the operator reads why their answer waits, and until when. */
tours.add("livechat_groups_messenger_wait", {
    steps: () => [
        {
            content: "The answer waits, with the reason and the time of the next attempt",
            trigger:
                ".o-mail-Message:contains(Let me check with the carrier) .o_livechat_groups_delivery_wait:contains(WhatsApp could not be reached; tried again at)",
        },
    ],
});
