/** @odoo-module */

import { useBus } from "@web/core/utils/hooks";
import { registry } from "@web/core/registry";
import { FormController } from "@web/views/form/form_controller";
import { formView } from "@web/views/form/form_view";

/**
 * The send form. Odoo saves the open record when the page is hidden or left (reload, tab
 * closed); a new SMS has no required field, so reloading an untouched "New" form would store an
 * empty draft. Only a new SMS the user has started to write is kept.
 */
export class CgsmsMessageFormController extends FormController {
    setup() {
        super.setup();
        this.cgsmsFieldIsDirty = false;
        useBus(this.model.bus, "FIELD_IS_DIRTY", (ev) => {
            this.cgsmsFieldIsDirty = ev.detail;
        });
    }

    get cgsmsIsUntouchedNew() {
        const root = this.model.root;
        return root.isNew && !root.dirty && !this.cgsmsFieldIsDirty;
    }

    beforeVisibilityChange() {
        if (this.cgsmsIsUntouchedNew) {
            return;
        }
        return super.beforeVisibilityChange();
    }

    async beforeUnload(ev) {
        if (this.cgsmsIsUntouchedNew) {
            return;
        }
        return super.beforeUnload(ev);
    }
}

registry.category("views").add("cgsms_message_form", {
    ...formView,
    Controller: CgsmsMessageFormController,
});
