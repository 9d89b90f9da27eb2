/** @odoo-module */

// SMS length and segment counting (3GPP TS 23.038 / GSM 03.38) and "GSM-7 safe"
// transliteration for the live counter. Same rules as addons/cgsms/tools/sms_segments.py and
// tools/transliterate.py, checked against the same cases (tests/unit/segment_cases.json).
// No Odoo import on purpose: the unit tests load this file in plain Node.

// The 128 positions of the basic table, in code order; 0x1B is the escape to the extension table
// and not a character a text can contain.
export const GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅå" +
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ" +
    " !\"#¤%&'()*+,-./" +
    "0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNO" +
    "PQRSTUVWXYZÄÖÑÜ§" +
    "¿abcdefghijklmno" +
    "pqrstuvwxyzäöñüà";
export const GSM7_EXTENSION = "\f^{}\\[~]|€";

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

const LIMITS = {
    [GSM7]: { single: 160, multi: 153 },
    [UCS2]: { single: 70, multi: 67 },
};

const BASIC_CHARS = new Set([...GSM7_BASIC].filter((char) => char !== "\x1b"));
const EXTENSION_CHARS = new Set(GSM7_EXTENSION);

function isGsm7Char(char) {
    return BASIC_CHARS.has(char) || EXTENSION_CHARS.has(char);
}

/** Whether `text` can be sent with the GSM 7-bit default alphabet. */
export function isGsm7(text) {
    for (const char of text) {
        if (!isGsm7Char(char)) {
            return false;
        }
    }
    return true;
}

// Characters by code point (a surrogate pair is one character, as in Python) and their cost.
function unitCosts(text) {
    const chars = [...text];
    if (chars.every(isGsm7Char)) {
        return { encoding: GSM7, chars, costs: chars.map((c) => (EXTENSION_CHARS.has(c) ? 2 : 1)) };
    }
    return { encoding: UCS2, chars, costs: chars.map((c) => c.length) };
}

// Number of characters in each part; a character never straddles two parts.
function partLengths(costs, { single, multi }) {
    if (!costs.length) {
        return [];
    }
    if (costs.reduce((a, b) => a + b, 0) <= single) {
        return [costs.length];
    }
    const lengths = [];
    let used = 0;
    let count = 0;
    for (const cost of costs) {
        if (used + cost > multi) {
            lengths.push(count);
            used = 0;
            count = 0;
        }
        used += cost;
        count += 1;
    }
    lengths.push(count);
    return lengths;
}

/**
 * Count the SMS parts needed to send `text`.
 * Returns {encoding, units, segments, chars, per_segment, remaining}, the same keys as
 * SegmentInfo.as_dict() in Python: units are septets (GSM-7) or UTF-16 code units (UCS-2),
 * chars are code points, per_segment is the limit for the current length and remaining the
 * units still free in the last part.
 */
export function countSegments(text) {
    text = text || "";
    const { encoding, chars, costs } = unitCosts(text);
    const limits = LIMITS[encoding];
    const units = costs.reduce((a, b) => a + b, 0);
    if (units <= limits.single) {
        return {
            encoding,
            units,
            segments: text ? 1 : 0,
            chars: chars.length,
            per_segment: limits.single,
            remaining: limits.single - units,
        };
    }
    const lengths = partLengths(costs, limits);
    const lastUnits = costs.slice(costs.length - lengths.at(-1)).reduce((a, b) => a + b, 0);
    return {
        encoding,
        units,
        segments: lengths.length,
        chars: chars.length,
        per_segment: limits.multi,
        remaining: limits.multi - lastUnits,
    };
}

/** Split `text` into the parts it is sent as (an empty text gives no part). */
export function splitSegments(text) {
    text = text || "";
    const { encoding, chars, costs } = unitCosts(text);
    const parts = [];
    let start = 0;
    for (const length of partLengths(costs, LIMITS[encoding])) {
        parts.push(chars.slice(start, start + length).join(""));
        start += length;
    }
    return parts;
}

// Explicit replacements, looked up before the generic accent stripping.
const REPLACEMENTS = {
    // Portuguese letters that are not in the basic table (é, à, Ç are, and are kept).
    á: "a",
    â: "a",
    ã: "a",
    ç: "c",
    ê: "e",
    í: "i",
    ó: "o",
    ô: "o",
    õ: "o",
    ú: "u",
    Á: "A",
    À: "A",
    Â: "A",
    Ã: "A",
    Ê: "E",
    Í: "I",
    Ó: "O",
    Ô: "O",
    Õ: "O",
    Ú: "U",
    ª: "a",
    º: "o",
    // Typographic punctuation word processors put in.
    "\u2018": "'", // left single quotation mark
    "\u2019": "'", // right single quotation mark
    "\u201a": "'", // single low-9 quotation mark
    "\u201b": "'", // single high-reversed-9 quotation mark
    "\u2032": "'", // prime
    "\u00b4": "'", // acute accent
    "`": "'",
    "\u201c": '"', // left double quotation mark
    "\u201d": '"', // right double quotation mark
    "\u201e": '"', // double low-9 quotation mark
    "\u2033": '"', // double prime
    "\u00ab": '"', // left guillemet
    "\u00bb": '"', // right guillemet
    "\u2010": "-", // hyphen
    "\u2011": "-", // non-breaking hyphen
    "\u2012": "-", // figure dash
    "\u2013": "-", // en dash
    "\u2014": "-", // em dash
    "\u2015": "-", // horizontal bar
    "\u2212": "-", // minus sign
    "\u2022": "-", // bullet
    "\u2026": "...", // horizontal ellipsis
    "\t": " ",
    "\u00a0": " ", // no-break space
    "\u2007": " ", // figure space
    "\u202f": " ", // narrow no-break space
    "\u00ad": "", // soft hyphen
    "\u200b": "", // zero-width space
    "\ufeff": "", // byte order mark
};

const MARK = /\p{M}/gu;

function gsm7Spelling(char) {
    if (isGsm7Char(char)) {
        return char;
    }
    if (Object.hasOwn(REPLACEMENTS, char)) {
        return REPLACEMENTS[char];
    }
    // Compatibility decomposition without the combining marks ("ë" -> "e", "²" -> "2"), only
    // when everything left is GSM-7.
    const decomposed = char.normalize("NFKD").replace(MARK, "");
    if (decomposed && isGsm7(decomposed)) {
        return decomposed;
    }
    return char;
}

/**
 * Replace the characters of `text` that GSM-7 lacks by their closest GSM-7 spelling; what has
 * none (emoji, CJK, Cyrillic...) is kept, so the result may still be UCS-2.
 */
export function transliterate(text) {
    if (!text) {
        return "";
    }
    let result = "";
    for (const char of text.normalize("NFC")) {
        result += gsm7Spelling(char);
    }
    return result;
}

/**
 * Transliterate `text` and report {text, before, after, saved_segments, changed} like
 * transliteration_report() in Python; saved_segments may be negative.
 */
export function transliterationReport(text) {
    text = text || "";
    const converted = transliterate(text);
    const before = countSegments(text);
    const after = countSegments(converted);
    return {
        text: converted,
        before,
        after,
        saved_segments: before.segments - after.segments,
        changed: converted !== text,
    };
}
