// The emulator's CPU against this machine's CPU on random integer instruction sequences.
// DIFF_SEED / DIFF_CASES / DIFF_CASE / DIFF_REPORT: see README.md.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { type Case, generateCase, generateCases } from "./generator.js";
import { EmulatorRunner } from "./emulator.js";
import { oracle } from "./native.js";
import { type CaseOutcome, type Emulate, formatOutcome, runCases, shrink, signature } from "./harness.js";

const seed = Number(process.env.DIFF_SEED ?? 1) >>> 0;
const count = Number(process.env.DIFF_CASES ?? 5000);
const single = process.env.DIFF_CASE !== undefined ? Number(process.env.DIFF_CASE) : null;
/** How many failing cases get shrunk (all in parallel rounds). */
const SHRINK_LIMIT = 40;
/** How many distinct minimal failures the assertion message shows. */
const SHOW = 6;

function report(failed: CaseOutcome[], minimal: CaseOutcome[], total: number, compared: number): string {
  // One example per signature (last instruction of the shrunk case), shortest first.
  const bySig = new Map<string, { example: CaseOutcome; n: number }>();
  for (const m of minimal) {
    const k = signature(m);
    const e = bySig.get(k);
    if (!e) bySig.set(k, { example: m, n: 1 });
    else {
      e.n++;
      if (m.analysis.instructions.length < e.example.analysis.instructions.length) e.example = m;
    }
  }
  const groups = [...bySig.entries()].sort((a, b) => b[1].n - a[1].n);
  const head =
    `${failed.length} of ${compared} compared cases differ (seed ${seed}, ${total} generated). ` +
    `${minimal.length} shrunk; ${groups.length} distinct minimal failures (by last instruction): ` +
    groups.map(([k, v]) => `${k}×${v.n}`).join(", ");
  const body = groups.map(([k, v]) => `--- ${k} (${v.n} of the shrunk cases)\n${formatOutcome(v.example, seed)}`);
  return [head, ...body].join("\n\n");
}

test(`emulator CPU matches the native CPU on random integer sequences (seed ${seed})`, async (t) => {
  t.diagnostic(`oracle: ${oracle().why}`);
  const cases: Case[] = single !== null ? [generateCase(seed, single)] : generateCases(seed, count);
  const runner = new EmulatorRunner();
  const emulate: Emulate = (c, code) => runner.run(c, code);
  const s = await runCases(cases, emulate);
  assert.equal(
    s.nativeCrashes.length,
    0,
    `generator bug: the native program crashed on\n${s.nativeCrashes.map((o) => formatOutcome(o, seed)).join("\n\n")}`,
  );
  // The undefined-flag filter must leave most cases comparable, or the test proves little.
  assert.ok(s.compared >= cases.length * 0.75, `only ${s.compared} of ${cases.length} cases were comparable`);
  if (s.failed.length === 0) return;
  const minimal = await shrink(s.failed.slice(0, SHRINK_LIMIT), emulate);
  const text = report(s.failed, minimal, cases.length, s.compared);
  if (process.env.DIFF_REPORT) writeFileSync(process.env.DIFF_REPORT, text + "\n");
  const shown = text.split("\n\n--- ").slice(0, SHOW + 1).join("\n\n--- ");
  assert.fail(shown);
});
