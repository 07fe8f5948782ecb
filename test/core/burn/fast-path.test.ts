// The afterburner's fast path (core/burn/prefilter.ts) must give exactly what the full parser path
// gives: the same output bytes, the same sites and the same afterburner diagnostics. Random
// compiler-style and token-soup inputs, gcc -S output of the burn corpus and the example guests,
// and hand-written edge cases; each input is also checked to have taken the path it was meant to.

import { test } from "node:test";
import assert from "node:assert/strict";
import { afterburn, type BurnResult } from "../../../core/burn/afterburn.js";
import { scanSites } from "../../../core/burn/prefilter.js";
import { compilerStyleInputs, EDGE_CASES, FULL_PARSE_CASES, gccInputs, REPEATED_CASES, tokenSoupInputs } from "./corpora.js";

function own(r: BurnResult) {
  return r.diagnostics.filter((d) => d.from === "afterburner");
}

/** Burns text both ways and fails on any difference; returns whether the fast path applied. */
function same(text: string, label: string, mode: 32 | 64 = 32): boolean {
  const fast = afterburn(text, { mode, fileName: "t.s" });
  const full = afterburn(text, { mode, fileName: "t.s", fullParse: true });
  assert.deepEqual(fast.sites, full.sites, `${label}: sites differ`);
  assert.equal(fast.output, full.output, `${label}: output differs`);
  assert.deepEqual(own(fast), own(full), `${label}: afterburner diagnostics differ`);
  assert.equal(fast.alreadyAfterburned, full.alreadyAfterburned);
  return scanSites(text, mode) !== undefined;
}

test("random compiler-style input: fast path and full parser agree, and the fast path applies", () => {
  let fastCount = 0;
  for (const { name, text, mode } of compilerStyleInputs()) if (same(text, name, mode)) fastCount++;
  // Upper-casing can turn a line into something only the full parser handles (#IF, .IF); most stay fast.
  assert.ok(fastCount > 250, `the fast path applied to ${fastCount} of 400 inputs`);
});

test("random token soup: fast path and full parser agree", () => {
  for (const { name, text, mode } of tokenSoupInputs()) same(text, name, mode);
});

test("what the fast path does not model goes to the full parser", () => {
  for (const text of FULL_PARSE_CASES) {
    assert.equal(scanSites(text, 32), undefined, JSON.stringify(text));
    same(text, JSON.stringify(text));
  }
  // .if 0 hides its body from as: neither path may annotate it.
  assert.deepEqual(afterburn(".if 0\ncli\n.endif\nsti\n").sites.map((s) => s.mnemonic), ["sti"]);
});

test("edge cases: quoted section names, repeated sections, cpp continuation lines, claimed memop lines", () => {
  for (const text of EDGE_CASES) assert.ok(same(text, JSON.stringify(text)), `fast path expected for ${JSON.stringify(text)}`);
  const r = afterburn('.section ".fixup","ax"\ncli\n');
  assert.equal(r.sites[0]!.section, ".fixup", "quotes stripped as the full parser does");
});

test("repeated lines, parsed once, keep their own line, origin, mode, section and lexer state", () => {
  for (const text of REPEATED_CASES) {
    assert.ok(same(text, JSON.stringify(text)), `fast path expected for ${JSON.stringify(text)}`);
    assert.ok(same(text.replace(/\n/g, "\r\n"), JSON.stringify(text) + " with CRLF"));
  }
  const r = afterburn('# 5 "a.c" 1\n\tcli\n\tcli\n');
  assert.deepEqual(r.sites.map((x) => [x.input.line, x.source?.line]), [[2, 5], [3, 6]]);
});

test("gcc -S output of the burn corpus and the example guests: fast path and full parser agree", () => {
  const inputs = gccInputs();
  assert.ok(inputs.length >= 10, `only ${inputs.length} inputs`);
  let sites = 0;
  for (const { name, text, mode } of inputs) {
    assert.ok(same(text, name, mode), `${name}: gcc output should take the fast path`);
    sites += afterburn(text, { mode }).sites.length;
  }
  assert.ok(sites > 20, `the inputs hold sensitive instructions (${sites})`);
});

test("a line the fast path parses but the parser cannot read is reported on the fast path too, at its line", () => {
  // Lines the parser cannot read (GNU as rejects these too: no blank may follow `rep/`, a quoted label
  // takes its ':' right after the quote); a site there would be missed, and the fast path dropped the
  // parser's word on it, so nothing said so.
  for (const text of ["\tnop\n\trep/ insb\n\tnop\n", '\tnop\n"my label" :\tcli\n\tnop\n', "\tnop\n\trep/ insb\n\trep /insb\n"]) {
    assert.notEqual(scanSites(text, 32), undefined, JSON.stringify(text));
    const fast = afterburn(text, { fileName: "t.s" }).diagnostics.filter((d) => d.from === "parser");
    const full = afterburn(text, { fileName: "t.s", fullParse: true }).diagnostics.filter((d) => d.from === "parser");
    assert.ok(fast.length > 0 && fast.every((d) => d.severity === "error"), JSON.stringify(text));
    assert.deepEqual(fast, full, JSON.stringify(text));
  }
});
