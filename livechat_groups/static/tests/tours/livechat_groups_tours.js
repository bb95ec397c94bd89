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
