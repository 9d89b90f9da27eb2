/** @odoo-module */

import { Component, useEffect, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { TextField, textField } from "@web/views/fields/text/text_field";
import {
    countSegments,
    transliterate,
    transliterationReport,
    UCS2,
} from "@cgsms/counter/sms_segments";
import { formatCredits } from "@cgsms/credits/credits";
import {
    hasPlaceholders,
    PLACEHOLDER_SAMPLE_LENGTH,
    withPlaceholderSamples,
} from "@cgsms/counter/placeholders";

/**
 * Live length, segments, encoding and cost of an SMS text. Shared by the body field widget and
 * the express message dialog; the cost line appears when a cost per segment is given.
 */
export class SmsCounter extends Component {
    static template = "cgsms.SmsCounter";
    static props = {
        text: { type: String, optional: true },
        costPerSegment: { type: Number, optional: true },
        creditAvailable: { type: Number, optional: true },
        recipientCount: { type: Number, optional: true },
        onTransliterate: { type: Function, optional: true },
        // The account replaces accented letters when it sends: count the text as it leaves.
        gsm7Safe: { type: Boolean, optional: true },
        // the text leaves as typed: {{ ... }} is not a placeholder here
        literal: { type: Boolean, optional: true },
    };

    get sentText() {
        const text = this.props.text || "";
        return this.props.gsm7Safe ? transliterate(text) : text;
    }

    get info() {
        const text = this.props.text || "";
        // {{ object.name }} is counted as the customer's data, not as its code
        const typed = this.props.literal ? text : withPlaceholderSamples(text);
        return countSegments(this.props.gsm7Safe ? transliterate(typed) : typed);
    }

    get placeholderLabel() {
        return _t("placeholders counted as %(length)s characters", {
            length: PLACEHOLDER_SAMPLE_LENGTH,
        });
    }

    get placeholderHint() {
        return !this.props.literal && hasPlaceholders(this.props.text)
            ? _t(
                  "Placeholders are counted as %(length)s characters each (a long name), or as their default; each customer's SMS is counted with their own data when it is sent.",
                  { length: PLACEHOLDER_SAMPLE_LENGTH }
              )
            : "";
    }

    get lettersReplaced() {
        return Boolean(this.props.gsm7Safe) && this.sentText !== (this.props.text || "");
    }

    get unicodeHint() {
        return this.props.gsm7Safe && this.info.encoding === UCS2
            ? _t(
                  "Emoji or symbols without a plain equivalent keep this SMS in Unicode: 70 characters per SMS."
              )
            : "";
    }

    get encodingLabel() {
        return this.info.encoding === UCS2 ? _t("Unicode") : _t("GSM-7");
    }

    get encodingHint() {
        return this.info.encoding === UCS2
            ? _t(
                  "Accents or symbols outside the GSM-7 alphabet: 70 characters per SMS (67 when split)."
              )
            : _t("Plain GSM-7 text: 160 characters per SMS (153 when split).");
    }

    get summary() {
        const info = this.info;
        return _t("Characters: %(chars)s · Messages: %(segments)s", {
            chars: info.chars,
            segments: info.segments,
        });
    }

    get remainingHint() {
        return _t("%(remaining)s characters left in this message", {
            remaining: this.info.remaining,
        });
    }

    get showCost() {
        return typeof this.props.costPerSegment === "number";
    }

    get cost() {
        const count = this.props.recipientCount ?? 1;
        return this.info.segments * (this.props.costPerSegment || 0) * count;
    }

    get isShort() {
        return (
            typeof this.props.creditAvailable === "number" &&
            this.cost > this.props.creditAvailable + 1e-9
        );
    }

    get costLines() {
        const lines = [
            _t("1 SMS = %(cost)s credits", { cost: formatCredits(this.props.costPerSegment) }),
            _t("Cost: %(cost)s credits", { cost: formatCredits(this.cost) }),
        ];
        if (typeof this.props.creditAvailable === "number") {
            lines.push(
                _t("Available credits: %(credits)s", {
                    credits: formatCredits(this.props.creditAvailable),
                })
            );
        }
        return lines.join(" · ");
    }

    get report() {
        return transliterationReport(this.props.text || "");
    }

    get savedSegments() {
        // With the account's setting on, accents are replaced anyway when the SMS leaves.
        return this.props.onTransliterate && !this.props.gsm7Safe ? this.report.saved_segments : 0;
    }

    get savingLabel() {
        return this.savedSegments === 1
            ? _t("saves 1 message")
            : _t("saves %(count)s messages", { count: this.savedSegments });
    }

    onTransliterate() {
        this.props.onTransliterate(this.report);
    }
}

/**
 * Text field for an SMS body: Odoo's textarea with the live counter below it. When the record
 * has cost_per_segment / credit_available / recipient_count fields, the cost is shown too.
 */
export class SmsBodyField extends TextField {
    static template = "cgsms.SmsBodyField";
    static components = { ...TextField.components, SmsCounter };
    static props = {
        ...TextField.props,
        literal: { type: Boolean, optional: true },
    };

    setup() {
        super.setup();
        this.notification = useService("notification");
        // What is typed, counted on each keystroke without writing the record every time.
        this.live = useState({ text: this.recordValue });
        useEffect(
            (value) => {
                this.live.text = value;
            },
            () => [this.recordValue]
        );
    }

    get recordValue() {
        return this.props.record.data[this.props.name] || "";
    }

    get counterProps() {
        const props = { text: this.live.text, literal: Boolean(this.props.literal) };
        const data = this.props.record.data;
        const has = (name) => name in this.props.record.fields && name in data;
        if (has("cost_per_segment")) {
            props.costPerSegment = data.cost_per_segment || 0;
            if (has("credit_available")) {
                props.creditAvailable = data.credit_available || 0;
            }
            if (has("recipient_count")) {
                props.recipientCount = data.recipient_count || 0;
            }
        }
        for (const name of ["gsm7_safe", "cgsms_gsm7_safe"]) {
            if (has(name)) {
                props.gsm7Safe = Boolean(data[name]);
            }
        }
        if (!this.props.readonly) {
            props.onTransliterate = this.onTransliterate.bind(this);
        }
        return props;
    }

    onInput(ev) {
        this.live.text = ev.target.value;
    }

    async onTransliterate(report) {
        const textarea = this.textareaRef.el;
        if (textarea) {
            textarea.value = report.text;
        }
        this.live.text = report.text;
        await this.props.record.update({ [this.props.name]: report.text });
        this.notification.add(
            report.saved_segments === 1
                ? _t("Message made GSM-7 safe: it saves 1 SMS per recipient.")
                : _t("Message made GSM-7 safe: it saves %(count)s SMS per recipient.", {
                      count: report.saved_segments,
                  }),
            { type: "success" }
        );
    }
}

export const smsBodyField = {
    ...textField,
    component: SmsBodyField,
    displayName: _t("SMS message"),
    supportedTypes: ["text", "char"],
    supportedOptions: [
        ...(textField.supportedOptions || []),
        {
            label: _t("Sent as typed (no placeholders)"),
            name: "literal",
            type: "boolean",
        },
    ],
    extractProps: (params) => ({
        ...textField.extractProps(params),
        literal: Boolean(params.options?.literal),
    }),
    additionalClasses: [...(textField.additionalClasses || []), "o_field_text"],
};

registry.category("fields").add("cgsms_sms_body", smsBodyField);
