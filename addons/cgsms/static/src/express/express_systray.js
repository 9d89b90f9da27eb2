/** @odoo-module */

import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { ExpressDialog } from "./express_dialog";

/**
 * Systray button opening the express message dialog. The server says once, at start, whether
 * the user may send SMS and the current company has an active account; otherwise nothing shows.
 */
export class ExpressSystray extends Component {
    static template = "cgsms.ExpressSystray";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.dialog = useService("dialog");
        this.state = useState({ visible: false });
        onWillStart(() => {
            // Not awaited: the web client must not wait for it to render.
            this.loadInfo();
        });
    }

    async loadInfo() {
        const info = await this.orm.silent.call("cgsms.express.wizard", "express_info", []);
        this.state.visible = Boolean(info?.visible);
    }

    onClick() {
        this.dialog.add(ExpressDialog, {});
    }
}

registry
    .category("systray")
    .add("cgsms.ExpressSystray", { Component: ExpressSystray }, { sequence: 30 });
