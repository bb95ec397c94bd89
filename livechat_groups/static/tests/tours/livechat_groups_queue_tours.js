import { registry } from "@web/core/registry";

/**
 * The employee who asked an internal live chat waits second in its queue; while they wait, the
 * first one is taken (in the request of their next message): Discuss says they are number 1,
 * without a reload.
 */
registry.category("web_tour.tours").add("livechat_groups_employee_place_moves", {
    steps: () => [
        {
            content: "The employee waits second in the queue",
            trigger: ".o-mail-NotificationMessage:contains(you are number 2 in the queue of General Helpdesk)",
            async run() {
                window.livechatGroupsNotReloaded = true;
                // Discuss asks for the queue's channel once it read the notice: let it subscribe
                await new Promise((resolve) => setTimeout(resolve, 3000));
            },
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "edit Are you still there?",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "press Enter",
        },
        {
            trigger: ".o-mail-Message:contains(Are you still there?)",
        },
        {
            content: "The one before them was taken: they are first now, without a reload",
            trigger: ".o-mail-NotificationMessage:contains(you are number 1 in the queue of General Helpdesk)",
            run() {
                if (!window.livechatGroupsNotReloaded) {
                    throw new Error("Discuss was reloaded");
                }
            },
        },
    ],
});
