import { Component, markup } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * The table of who can answer now, in the Forward and Assign dialogs: a click on a member's row
 * chooses them in the dialog's operator (or expert) field.
 */
export class MemberTableField extends Component {
    static template = "livechat_groups.MemberTableField";
    static props = { ...standardFieldProps, targetField: { type: String, optional: true } };

    get html() {
        return markup(this.props.record.data[this.props.name] || "");
    }

    onClick(ev) {
        const row = ev.target.closest("tr[data-user-id]");
        if (!row || !this.props.targetField) {
            return;
        }
        this.props.record.update({
            [this.props.targetField]: [parseInt(row.dataset.userId), row.dataset.userName],
        });
    }
}

registry.category("fields").add("livechat_groups_member_table", {
    component: MemberTableField,
    supportedTypes: ["html"],
    extractProps: ({ options }) => ({ targetField: options.target_field }),
});
