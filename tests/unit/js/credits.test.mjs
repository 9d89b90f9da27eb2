// The credits' decimals in the browser (addons/cgsms/static/src/credits/credits.js) follow the
// same rule as tools/credits.py. Run with: node --test tests/unit/js/
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const source = readFileSync(join(root, "addons/cgsms/static/src/credits/credits.js"), "utf8")
    .replace("/** @odoo-module */", "")
    .replace(/^import .*$/m, "const formatFloat = (value, { digits }) => value.toFixed(digits[1]);");
const workDir = mkdtempSync(join(tmpdir(), "cgsms-credits-"));
const modulePath = join(workDir, "credits.mjs");
writeFileSync(modulePath, source);
const credits = await import(pathToFileURL(modulePath).href);
after(() => rmSync(workDir, { recursive: true, force: true }));

test("credits show 2 decimals unless the amount needs more", () => {
    for (const [amount, digits] of [[1440, 2], [7.2, 2], [1.44, 2], [-2.88, 2], [0, 2], [1.4375, 4], [0.125, 3]]) {
        assert.equal(credits.creditDigits(amount), digits, String(amount));
    }
    assert.equal(credits.formatCredits(50), "50.00");
    assert.equal(credits.formatCredits(1.4375), "1.4375");
});
