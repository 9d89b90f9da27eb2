// The live counter counts a template's text as the customer receives it
// (addons/cgsms/static/src/counter/placeholders.js). Run with: node --test tests/unit/js/
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const source = readFileSync(join(root, "addons/cgsms/static/src/counter/placeholders.js"), "utf8");
const workDir = mkdtempSync(join(tmpdir(), "cgsms-placeholders-"));
after(() => rmSync(workDir, { recursive: true, force: true }));
const modulePath = join(workDir, "placeholders.mjs");
writeFileSync(modulePath, source);
const { hasPlaceholders, withPlaceholderSamples, PLACEHOLDER_SAMPLE_LENGTH } = await import(
    pathToFileURL(modulePath).href
);

test("a placeholder counts as a long name, not as its code", () => {
    const text = "Olá {{ object.name }}, a sua reparação está pronta.";
    const counted = withPlaceholderSamples(text);
    assert.equal(counted, `Olá ${"x".repeat(PLACEHOLDER_SAMPLE_LENGTH)}, a sua reparação está pronta.`);
    assert.ok(hasPlaceholders(text));
});

test("a placeholder with a default counts as its default", () => {
    assert.equal(withPlaceholderSamples("Olá {{ object.name ||| Cliente }}!"), "Olá Cliente!");
});

test("a text without placeholders is counted as typed", () => {
    assert.equal(withPlaceholderSamples("Olá, até já {"), "Olá, até já {");
    assert.ok(!hasPlaceholders("Olá, até já {"));
});
