/** @odoo-module */

import { Component, onWillStart, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";
import { Many2XAutocomplete } from "@web/views/fields/relational_utils";
import { SmsCounter } from "@cgsms/sms_body/sms_body_field";

// Same separators as tools/phone.py split_free_numbers: ";", "," and line breaks.
const NUMBER_SEPARATORS = /[;,\r\n]+/;

/**
 * Express message: a few numbers and/or contacts, a text, sent at once. Nothing typed is lost
 * when the server refuses the send: the dialog stays open with the reason.
 */
export class ExpressDialog extends Component {
    static template = "cgsms.ExpressDialog";
    static components = { Dialog, Many2XAutocomplete, SmsCounter };
    static props = {
        close: Function,
    };

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.state = useState({
            numbers: "",
            partners: [],
            body: "",
            error: "",
            sending: false,
            info: {},
        });
        onWillStart(async () => {
            this.state.info = await this.orm.call("cgsms.express.wizard", "express_info", []);
        });
    }

    get typedNumbers() {
        const seen = new Set();
        for (const raw of this.state.numbers.split(NUMBER_SEPARATORS)) {
            const digits = raw.replace(/[^\d+]/g, "");
            if (digits) {
                seen.add(digits);
            }
        }
        return [...seen];
    }

    /** An estimate for the cost line; the server resolves and de-duplicates exactly. */
    get recipientCount() {
        return this.typedNumbers.length + this.state.partners.length;
    }

    get canSend() {
        return !this.state.sending && this.recipientCount > 0 && this.state.body.trim().length > 0;
    }

    getPartnerDomain() {
        return [["id", "not in", this.state.partners.map((p) => p.id)]];
    }

    async onPartnersSelected(records) {
        const ids = (records || [])
            .map((r) => r.id)
            .filter((id) => id && !this.state.partners.some((p) => p.id === id));
        if (!ids.length) {
            return;
        }
        const partners = await this.orm.read("res.partner", ids, [
            "display_name",
            "cgsms_mobile",
            "phone",
        ]);
        this.state.partners.push(
            ...partners.map((p) => ({
                id: p.id,
                name: p.display_name,
                number: p.cgsms_mobile || p.phone || "",
            }))
        );
        this.state.error = "";
    }

    removePartner(partnerId) {
        this.state.partners = this.state.partners.filter((p) => p.id !== partnerId);
    }

    onTransliterate(report) {
        this.state.body = report.text;
    }

    async send() {
        if (!this.canSend) {
            return;
        }
        this.state.sending = true;
        this.state.error = "";
        let summary;
        try {
            summary = await this.orm.call("cgsms.express.wizard", "express_send", [], {
                numbers: this.state.numbers,
                partner_ids: this.state.partners.map((p) => p.id),
                body: this.state.body,
            });
            if (summary.pending) {
                // Queued by that request; they left once it was committed: read how it went.
                summary = await this.orm.call("cgsms.express.wizard", "express_result", [
                    summary.entries,
                ]);
            }
        } catch (error) {
            // A refusal (invalid number, no credits, no account): keep everything typed.
            this.state.error = error.data?.message || error.message || _t("The SMS was not sent.");
            return;
        } finally {
            this.state.sending = false;
        }
        if (!summary.sent && !summary.queued && !summary.pending) {
            this.state.error = summary.message;
            this.state.info.credit_available = summary.credit_available;
            return;
        }
        const complete = !summary.failed && !summary.queued && !summary.pending;
        this.notification.add(summary.message, {
            title: _t("Express message"),
            type: complete ? "success" : "warning",
            sticky: !complete,
        });
        this.props.close();
    }
}
