/** @odoo-module */

import { formatFloat } from "@web/core/utils/numbers";

// Same rule as addons/cgsms/tools/credits.py: 2 decimals, more only when the amount needs them.
const MOST_DIGITS = 4;

export function creditDigits(amount) {
    const value = amount || 0;
    for (let digits = 2; digits < MOST_DIGITS; digits++) {
        const factor = 10 ** digits;
        if (Math.abs(Math.round(value * factor) / factor - value) < 10 ** -(MOST_DIGITS + 2)) {
            return digits;
        }
    }
    return MOST_DIGITS;
}

export function formatCredits(amount) {
    return formatFloat(amount || 0, { digits: [false, creditDigits(amount)] });
}
