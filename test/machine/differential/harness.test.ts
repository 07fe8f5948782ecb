// The harness catches, shrinks and reports a planted bug (a stand-in emulator that is the native
// result with one deliberate error), independently of the real emulator.

import { test } from "node:test";
import assert from "node:assert/strict";
import { generateCases } from "./generator.js";
import { type Emulate, formatOutcome, runCases, shrink, signature } from "./harness.js";
import { analyzeCase } from "./analysis.js";

/** Correct except: after any bswap, bit 0 of the final EAX is wrong. */
const bswapBug: Emulate = (_c, code, native) => {
  const state = { regs: native.regs.slice(), eflags: native.eflags, mem: native.mem.slice() };
  if (analyzeCase(code.address, code.bytes).instructions.some((i) => i.text.startsWith("bswap"))) state.regs[0] = (state.regs[0]! ^ 1) >>> 0;
  return { state, problem: null };
};

/** Correct except: the final CF is inverted. */
const cfBug: Emulate = (_c, _code, native) => ({
  state: { regs: native.regs.slice(), eflags: native.eflags ^ 1, mem: native.mem.slice() },
  problem: null,
});

test("harness: a planted bswap bug is found in exactly the cases with bswap and shrinks to one instruction", async () => {
  const s = await runCases(generateCases(99, 600), bswapBug);
  const withBswap = s.outcomes.filter((o) => !o.skipped && o.analysis.instructions.some((i) => i.text.startsWith("bswap")));
  assert.ok(withBswap.length > 0);
  assert.deepEqual(s.failed.map((o) => o.case.id), withBswap.map((o) => o.case.id));
  const minimal = await shrink(s.failed.slice(0, 5), bswapBug);
  for (const m of minimal) {
    assert.equal(m.analysis.instructions.length, 1, formatOutcome(m, 99));
    assert.equal(signature(m), "bswap");
    const text = formatOutcome(m, 99);
    assert.match(text, /eax: native 0x[0-9a-f]{8} emulator 0x[0-9a-f]{8}/);
    assert.match(text, /DIFF_SEED=99 DIFF_CASE=\d+/);
  }
});

test("harness: a wrong CF is reported only where CF is defined", async () => {
  const s = await runCases(generateCases(5, 400), cfBug);
  const compared = s.outcomes.filter((o) => !o.skipped);
  const cfDefined = compared.filter((o) => (o.analysis.flagMask & 1) !== 0);
  assert.ok(cfDefined.length > 0 && cfDefined.length < compared.length);
  assert.deepEqual(s.failed.map((o) => o.case.id), cfDefined.map((o) => o.case.id));
  assert.match(s.failed[0]!.diffs.join("\n"), /^flags CF: native/m);
});

/** The native result itself. */
const exact: Emulate = (_c, _code, native) => ({ state: { regs: native.regs.slice(), eflags: native.eflags, mem: native.mem.slice() }, problem: null });

test("harness: a case the native program dies on is reported, and the cases after it run in a new program", async () => {
  const cases = generateCases(7, 60);
  const k = 20;
  cases[k] = { ...cases[k]!, items: [{ lines: ["int3"], stackNet: 0 }] };
  const s = await runCases(cases, exact, 1);
  assert.deepEqual(s.nativeCrashes.map((o) => o.case.id), [cases[k]!.id]);
  assert.match(s.nativeCrashes[0]!.nativeCrash!, /SIGTRAP/);
  for (const o of s.outcomes.slice(k + 1)) assert.ok(o.native !== undefined, `case ${o.case.id} was not run`);
  assert.equal(s.failed.length, 0);
});
