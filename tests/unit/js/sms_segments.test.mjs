// The live counter (addons/cgsms/static/src/counter/sms_segments.js) against the cases the
// Python side checks too (tests/unit/segment_cases.json). Run with: node --test tests/unit/js/
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const cases = JSON.parse(readFileSync(join(root, "tests/unit/segment_cases.json"), "utf8"));

// Odoo serves the file as an ES module; Node needs an .mjs name to load it as one.
const source = readFileSync(join(root, "addons/cgsms/static/src/counter/sms_segments.js"), "utf8");
const workDir = mkdtempSync(join(tmpdir(), "cgsms-counter-"));
const modulePath = join(workDir, "sms_segments.mjs");
writeFileSync(modulePath, source.replace("/** @odoo-module */", ""));
const counter = await import(pathToFileURL(modulePath).href);
after(() => rmSync(workDir, { recursive: true, force: true }));

function caseText(c) {
    if ("text" in c) {
        return c.text;
    }
    return c.repeat.map(([piece, times]) => piece.repeat(times)).join("");
}

// Code points of a part, as Python's len() counts them.
const charCount = (text) => [...text].length;

describe("countSegments matches the shared cases", () => {
    for (const c of cases.segments) {
        test(c.name, () => {
            assert.deepEqual(counter.countSegments(caseText(c)), c.expected);
        });
    }
});

describe("splitSegments matches the shared cases", () => {
    for (const c of cases.segments.filter((c) => "split" in c)) {
        test(c.name, () => {
            assert.deepEqual(counter.splitSegments(caseText(c)).map(charCount), c.split);
        });
    }
});

describe("splitSegments loses nothing and gives as many parts as counted", () => {
    for (const c of cases.segments) {
        test(c.name, () => {
            const text = caseText(c);
            const parts = counter.splitSegments(text);
            assert.equal(parts.join(""), text);
            assert.equal(parts.length, c.expected.segments);
        });
    }
});

describe("transliterate matches the shared cases", () => {
    for (const c of cases.transliteration) {
        test(c.name, () => {
            assert.equal(counter.transliterate(caseText(c)), c.expected);
        });
    }
});

describe("transliterationReport matches the shared cases", () => {
    for (const c of cases.reports) {
        test(c.name, () => {
            const report = counter.transliterationReport(caseText(c));
            assert.deepEqual(
                {
                    changed: report.changed,
                    before_encoding: report.before.encoding,
                    after_encoding: report.after.encoding,
                    before_segments: report.before.segments,
                    after_segments: report.after.segments,
                    saved_segments: report.saved_segments,
                },
                c.expected
            );
        });
    }
});

describe("tables", () => {
    test("basic table has 128 distinct positions", () => {
        assert.equal([...counter.GSM7_BASIC].length, 128);
        assert.equal(new Set(counter.GSM7_BASIC).size, 128);
    });

    test("escape char is not usable", () => {
        assert.equal(counter.isGsm7("\x1b"), false);
    });

    test("every basic and extension char is gsm7", () => {
        const usable = counter.GSM7_BASIC.replace("\x1b", "") + counter.GSM7_EXTENSION;
        assert.equal(counter.isGsm7(usable), true);
    });
});

describe("edge cases", () => {
    test("undefined and null count as empty", () => {
        assert.equal(counter.countSegments(undefined).segments, 0);
        assert.equal(counter.countSegments(null).segments, 0);
        assert.deepEqual(counter.splitSegments(null), []);
        assert.equal(counter.transliterate(null), "");
    });

    test("surrogate pair stays in one part", () => {
        const parts = counter.splitSegments("a".repeat(66) + "😀" + "a".repeat(66));
        assert.equal(parts[0], "a".repeat(66));
        assert.ok(parts[1].startsWith("😀"));
    });

    test("transliteration is idempotent", () => {
        const once = counter.transliterate("“Promoção” – já… 😀");
        assert.equal(counter.transliterate(once), once);
    });
});
