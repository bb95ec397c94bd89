import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

// The save and discard buttons are hidden (not removed) once the record is saved.
const SAVED =
    ".o_form_status_indicator:not(.o_form_status_indicator_new_record):not(:has(.o_form_status_indicator_buttons:not(.invisible)))";

/** An administrator creates a group from Live Chat > Configuration > Groups. */
registry.category("web_tour.tours").add("livechat_groups_create_group", {
    steps: () => [
        {
            content: "The list of groups is shown",
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "Create a group",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Billing Experts",
        },
        {
            content: "Describe it",
            trigger: ".o_field_widget[name=description] textarea",
            run: "edit Invoices and payments",
        },
        {
            content: "Add a member by hand",
            trigger: ".o_field_widget[name=user_ids] input",
            run: "edit Ada Acc",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Ada Accounting)",
            run: "click",
        },
        {
            content: "Tie it to an Odoo user group",
            trigger: ".o_field_widget[name=system_group_ids] input",
            run: "edit Billing Team",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Billing Team)",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=system_group_ids] .o_tag:contains(Billing Team)",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Both members are listed: the one by hand and the one of the tied group",
            trigger: SAVED,
        },
        {
            trigger: ".o_field_widget[name=member_ids] .o_kanban_record:contains(Ada Accounting)",
        },
        {
            trigger: ".o_field_widget[name=member_ids] .o_kanban_record:contains(Bill Billing)",
        },
    ],
});

/** The administrator then picks the group in a live chat's Groups tab. */
registry.category("web_tour.tours").add("livechat_groups_pick_group", {
    steps: () => [
        {
            content: "An internal live chat has no website button to style",
            trigger: ".o_notebook .nav-link:contains(Options)",
            run: "click",
        },
        {
            trigger: ".o_notebook .tab-pane.active:not(:contains(Livechat Button)) .o_field_widget[name=default_message]",
        },
        {
            content: "Open the Groups tab of the live chat",
            trigger: ".o_notebook .nav-link:contains(Groups)",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=entry_group_ids] .o_tag:contains(General Helpdesk)",
        },
        {
            content: "Add the group to the specialists",
            trigger: ".o_field_widget[name=specialist_group_ids] input",
            run: "edit Billing",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Billing Experts)",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=specialist_group_ids] .o_tag:contains(Billing Experts)",
        },
        {
            content: "Switch to manual routing",
            trigger: ".o_field_widget[name=routing_mode] input[data-value=manual]",
            run: "click",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: SAVED,
        },
    ],
});

/** A Live Chat user reads the groups but is offered no way to create one. */
registry.category("web_tour.tours").add("livechat_groups_user_reads_groups", {
    steps: () => [
        {
            content: "The groups are listed",
            trigger: ".o_list_view .o_data_row:contains(Tech Support)",
        },
        {
            content: "No New button",
            trigger: ".o_control_panel:not(:has(.o_list_button_add))",
        },
        {
            content: "Open a group",
            trigger: ".o_data_row:contains(Tech Support) .o_data_cell[name=name]",
            run: "click",
        },
        {
            content: "Its members are shown, read only",
            trigger: ".o_form_view .o_field_widget[name=member_ids] .o_kanban_record",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=name]:not(:has(input))",
        },
    ],
});

const WAITING = ".o_kanban_group:has(.o_column_title:contains(Waiting))";
const IN_PROGRESS = ".o_kanban_group:has(.o_column_title:contains(In Progress))";

/**
 * A supervisor opens the board: the waiting sessions are there; a session assigned elsewhere
 * moves by itself (bus); grouped by operator, dropping a waiting card on an operator assigns it.
 */
registry.category("web_tour.tours").add("livechat_groups_board_drag_assign", {
    steps: () => [
        {
            content: "The board shows the waiting sessions",
            trigger: `${WAITING} .o_kanban_record:contains(Ann)`,
        },
        {
            trigger: `${WAITING} .o_kanban_record:contains(Bob) .o_livechat_groups_assign`,
        },
        {
            content: "Another supervisor assigns Bob's session, elsewhere",
            trigger: ".o_livechat_groups_board",
            run: async () => {
                const call = (model, method, args) =>
                    rpc(`/web/dataset/call_kw/${model}/${method}`, { model, method, args, kwargs: {} });
                const [bob] = await call("discuss.channel", "search_read", [
                    [["livechat_visitor_name", "=", "Bob"]],
                    ["id"],
                ]);
                const [sonia] = await call("res.users", "search_read", [
                    [["login", "=", "lcg_support_1"]],
                    ["id"],
                ]);
                // a plain RPC: only the bus can tell the board
                await call("discuss.channel", "action_livechat_assign", [[bob.id], sonia.id]);
            },
        },
        {
            content: "The board moved the card by itself, without a reload",
            trigger: `${IN_PROGRESS} .o_kanban_record:contains(Bob)`,
        },
        {
            content: "Group the board by operator",
            trigger: ".o_control_panel .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_group_by_menu .o_menu_item:contains(Operator)",
            run: "click",
        },
        {
            content: "Every operator of the live chat has a column",
            trigger: ".o_kanban_group:has(.o_column_title:contains(Selma Sales))",
        },
        {
            content: "Drop Ann's waiting session on Selma",
            trigger: ".o_kanban_group:not(:has(.o_column_title:contains(Selma Sales))) .o_kanban_record.o_draggable:contains(Ann)",
            async run(helpers) {
                await helpers.drag_and_drop(".o_kanban_group:has(.o_column_title:contains(Selma Sales))", {
                    position: { top: 80, left: 40 },
                    relative: true,
                });
            },
        },
        {
            content: "The card moved to Selma's column",
            trigger: ".o_kanban_group:has(.o_column_title:contains(Selma Sales)) .o_kanban_record:contains(Ann)",
        },
        {
            content: "and stays there once the board reloaded from the server",
            trigger: ".o_kanban_group:has(.o_column_title:contains(Selma Sales)) .o_kanban_record:contains(Ann):contains(Sales Department)",
        },
    ],
});

/** A supervisor joins a session from the board: Discuss opens on it, and they can write. */
registry.category("web_tour.tours").add("livechat_groups_board_join", {
    steps: () => [
        {
            content: "A supervisor who is no administrator has the Supervision menu",
            trigger: ".o_main_navbar .o_menu_sections button:contains(Supervision)",
        },
        {
            content: "Join Cid's session",
            trigger: `${IN_PROGRESS} .o_kanban_record:contains(Cid) .o_livechat_groups_join`,
            run: "click",
        },
        {
            content: "Discuss shows the conversation",
            trigger: ".o-mail-Discuss .o-mail-Message:contains(My printer is on fire)",
        },
        {
            content: "The supervisor writes in it",
            trigger: ".o-mail-Discuss .o-mail-Composer-input",
            run: "edit Hello Cid, I am the supervisor",
        },
        {
            trigger: ".o-mail-Discuss .o-mail-Composer-input",
            run: "press Enter",
        },
        {
            trigger: ".o-mail-Discuss .o-mail-Message:contains(I am the supervisor)",
        },
    ],
});

/** A supervisor reads the figures of their live chat's groups. */
registry.category("web_tour.tours").add("livechat_groups_figures", {
    steps: () => [
        {
            content: "The pivot shows the waiting time's 90th percentile of each live chat",
            trigger: ".o_pivot .o_pivot_measure_row:contains(90th Percentile)",
        },
        {
            trigger: ".o_pivot .o_pivot_measure_row:contains(Count)",
        },
        {
            trigger: ".o_pivot th:contains(External Live Chat)",
        },
        {
            content: "Nothing of the live chats they do not supervise",
            trigger: ".o_pivot:not(:has(th:contains(Internal Live Chat)))",
        },
        {
            content: "The graph too",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            trigger: ".o_graph_renderer canvas",
        },
    ],
});

/** A supervisor assigns a waiting session with the Assign dialog, which shows who is available. */
/**
 * The card a supervisor assigns from was older than the session: Sonia took it while the dialog
 * was open (as on a board read from a lagging replica). The dialog says so, and assigns once
 * the supervisor confirms.
 */
registry.category("web_tour.tours").add("livechat_groups_board_assign_stale", {
    steps: () => [
        {
            content: "Assign Eli's waiting session",
            trigger: `${WAITING} .o_kanban_record:contains(Eli) .o_livechat_groups_assign`,
            run: "click",
        },
        {
            content: "Choose Simon",
            trigger: ".modal .o_livechat_groups_members tr.o_livechat_groups_member:contains(Simon Support)",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=user_id] input:value(Simon Support)",
        },
        {
            trigger: ".modal-footer button[name=action_assign]",
            run: "click",
        },
        {
            content: "The dialog says what changed since the card showed it",
            trigger: ".modal .o_livechat_groups_changed:contains(Sonia Support took this session at)",
        },
        {
            content: "Assign anyway",
            trigger: ".modal-footer button[name=action_assign_anyway]",
            run: "click",
        },
        {
            content: "The card is in progress, with Simon",
            trigger: `body:not(:has(.modal)) ${IN_PROGRESS} .o_kanban_record:contains(Eli)`,
        },
    ],
});

registry.category("web_tour.tours").add("livechat_groups_board_assign_dialog", {
    steps: () => [
        {
            content: "Assign Dan's waiting session",
            trigger: `${WAITING} .o_kanban_record:contains(Dan) .o_livechat_groups_assign`,
            run: "click",
        },
        {
            content: "The dialog lists the operators, the available ones first",
            trigger: ".modal .o_livechat_groups_members tbody tr:first-child:contains(Simon Support):contains(Available)",
        },
        {
            content: "Choose Simon by clicking his row",
            trigger: ".modal .o_livechat_groups_members tr.o_livechat_groups_member:contains(Simon Support)",
            run: "click",
        },
        {
            content: "The row chose him as the operator",
            trigger: ".modal .o_field_widget[name=user_id] input:value(Simon Support)",
        },
        {
            trigger: ".modal-footer button[name=action_assign]",
            run: "click",
        },
        {
            content: "The card is in progress",
            trigger: `body:not(:has(.modal)) ${IN_PROGRESS} .o_kanban_record:contains(Dan)`,
        },
    ],
});
