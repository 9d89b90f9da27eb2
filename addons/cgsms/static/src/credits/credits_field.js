/** @odoo-module */

import { registry } from "@web/core/registry";
import { FloatField, floatField } from "@web/views/fields/float/float_field";
import { formatCredits } from "./credits";

/** A number of credits: "50,00", "7,20", and "1,4375" only when the price needs it. */
export class CreditsField extends FloatField {
    get formattedValue() {
        if (this.props.inputType === "number" && !this.props.readonly && this.value) {
            return this.value;
        }
        return formatCredits(this.value);
    }
}

registry.category("fields").add("cgsms_credits", { ...floatField, component: CreditsField });
// List footers and group rows add up a column with the formatter named after its widget.
registry.category("formatters").add("cgsms_credits", (value) => formatCredits(value));
