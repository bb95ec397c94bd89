import { registry } from "@web/core/registry";

const NOTICE = "Only Live Chat administrators change these settings.";

/** A Live Chat user (an operator) reads a live chat's groups and routing, and cannot change them. */
registry.category("web_tour.tours").add("livechat_groups_settings_read_only", {
    steps: () => [
        {
            content: "Open the Groups tab of the live chat",
            trigger: ".o_notebook a[name=livechat_groups]",
            run: "click",
        },
        {
            content: "The operator is told who changes these settings",
            trigger: `.tab-pane.active .alert:contains(${NOTICE})`,
        },
        {
            content: "The routing mode is shown, not editable",
            trigger: ".o_field_widget[name=routing_mode] input:checked:disabled",
        },
        {
            content: "The entry groups are shown, without a way to remove them",
            trigger: ".o_field_widget[name=entry_group_ids]:contains(General Support):not(:has(.o_delete))",
        },
        {
            content: "Nor a way to add one",
            trigger: ".o_field_widget[name=supervisor_group_ids]:not(:has(input))",
        },
    ],
});

/** A Live Chat administrator changes them. */
registry.category("web_tour.tours").add("livechat_groups_settings_editable", {
    steps: () => [
        {
            trigger: ".o_notebook a[name=livechat_groups]",
            run: "click",
        },
        {
            content: "No notice for an administrator",
            trigger: `.tab-pane.active:not(:has(.alert:contains(${NOTICE})))`,
        },
        {
            content: "Switch to manual routing",
            trigger: ".o_field_widget[name=routing_mode] input[data-value=manual]:enabled",
            run: "click",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_status_indicator:not(:has(.o_form_button_save:visible))",
        },
    ],
});
