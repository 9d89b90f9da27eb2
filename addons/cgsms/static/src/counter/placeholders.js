/** @odoo-module */

// What the live counter counts for a text with placeholders such as {{ object.name }}: each
// customer's SMS holds their own data, not the placeholder's code. A placeholder counts as its
// default when it has one ({{ object.name ||| Cliente }}), else as a long name of
// PLACEHOLDER_SAMPLE_LENGTH plain letters, so that the estimate errs on the safe side.
// No Odoo import on purpose: the unit tests load this file in plain Node.

export const PLACEHOLDER_SAMPLE_LENGTH = 20;

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;

export function hasPlaceholders(text) {
    return /\{\{[\s\S]*?\}\}/.test(text || "");
}

export function withPlaceholderSamples(text) {
    return (text || "").replace(PLACEHOLDER, (_match, inner) => {
        const parts = inner.split("|||");
        const fallback = parts.length > 1 ? parts.slice(1).join("|||").trim() : "";
        return fallback || "x".repeat(PLACEHOLDER_SAMPLE_LENGTH);
    });
}
