// Ties generator, native runner and emulator together: run, compare, shrink, report.

import { type CaseAnalysis, analyzeCase, flagNames } from "./analysis.js";
import type { EmulatorResult } from "./emulator.js";
import { type Case, BASE_EFLAGS, COMPARED_FLAGS, ESP_INDEX, MEM_BASE, R32, caseText } from "./generator.js";
import { type MachineState, type NativeCaseCode, oracle, runNative } from "./native.js";

export interface CaseOutcome {
  case: Case;
  code: NativeCaseCode;
  analysis: CaseAnalysis;
  native?: MachineState;
  emulator?: MachineState;
  /** Differences (empty when the case matches). */
  diffs: string[];
  /** Set when the case was not compared (and why). */
  skipped?: string;
  /** The native program crashed on this case: a generator bug, never a CPU bug. */
  nativeCrash?: string;
}

export interface Summary {
  outcomes: CaseOutcome[];
  compared: number;
  skipped: number;
  failed: CaseOutcome[];
  nativeCrashes: CaseOutcome[];
}

/** Runs one case on the machine under test (the emulator; the harness's own tests pass a stand-in). */
export type Emulate = (c: Case, code: NativeCaseCode, native: MachineState) => EmulatorResult;

/** A batch run natively case by case: after a case the program died on, the rest run in a new program. */
interface ResumedBatch {
  code: NativeCaseCode[];
  results: (MachineState | undefined)[];
  /** Per case the program died on: how. */
  deaths: Map<number, string>;
}

async function runNativeResuming(cases: readonly Case[]): Promise<ResumedBatch> {
  const out: ResumedBatch = { code: [], results: [], deaths: new Map() };
  let from = 0;
  while (from < cases.length) {
    const batch = await runNative(cases.slice(from));
    const n = batch.results.length;
    // A program that died after its last case (at exit) still gave every result.
    const died = batch.crash !== undefined && batch.crash.caseIndex < n ? batch.crash.caseIndex : n;
    for (let i = 0; i < died; i++) {
      out.code.push(batch.code[i]!);
      out.results.push(batch.results[i]);
    }
    if (died === n) break;
    out.code.push(batch.code[died]!);
    out.results.push(undefined);
    out.deaths.set(from + died, `native program died (signal ${batch.crash!.signal}, exit ${batch.crash!.exitCode}) on this case`);
    from += died + 1;
  }
  return out;
}

/** Run cases natively (in `parallel` processes) and on the emulator; compare each one. */
export async function runCases(cases: readonly Case[], emulate: Emulate, parallel = 2): Promise<Summary> {
  const chunk = Math.ceil(cases.length / parallel);
  const parts: Case[][] = [];
  for (let i = 0; i < cases.length; i += chunk) parts.push(cases.slice(i, i + chunk));
  const batches = await Promise.all(parts.map((p) => runNativeResuming(p)));
  const outcomes: CaseOutcome[] = [];
  parts.forEach((p, bi) => {
    const batch = batches[bi]!;
    p.forEach((c, i) => {
      const code = batch.code[i]!;
      const analysis = analyzeCase(code.address, code.bytes);
      const o: CaseOutcome = { case: c, code, analysis, diffs: [] };
      const native = batch.results[i];
      if (native === undefined) {
        const death = batch.deaths.get(i) ?? "not run natively";
        if (oracle().kind === "qemu" && analysis.incomparable !== null) {
          // QEMU's garbage in flags the architecture leaves alone can include TF: a later popf then traps.
          o.skipped = `${analysis.incomparable}; ${death} (QEMU's undefined flags can set TF)`;
        } else {
          o.nativeCrash = death;
          o.skipped = death;
        }
      } else if (analysis.incomparable !== null) {
        o.native = native;
        o.skipped = analysis.incomparable;
      } else {
        o.native = native;
        const emu = emulate(c, code, native);
        o.emulator = emu.state;
        if (emu.problem) o.diffs.push(emu.problem);
        o.diffs.push(...compareStates(c, native, emu.state, analysis.flagMask));
      }
      outcomes.push(o);
    });
  });
  const failed = outcomes.filter((o) => o.diffs.length > 0);
  const nativeCrashes = outcomes.filter((o) => o.nativeCrash?.startsWith("native program died"));
  const skipped = outcomes.filter((o) => o.skipped !== undefined).length;
  return { outcomes, compared: outcomes.length - skipped, skipped, failed, nativeCrashes };
}

const hex = (v: number, w = 8): string => "0x" + (v >>> 0).toString(16).padStart(w, "0");

export function compareStates(c: Case, native: MachineState, emu: MachineState, flagMask: number): string[] {
  const d: string[] = [];
  for (let r = 0; r < 8; r++) {
    if (native.regs[r] !== emu.regs[r]) d.push(`${R32[r]}: native ${hex(native.regs[r]!)} emulator ${hex(emu.regs[r]!)} (initial ${hex(c.regs[r]!)})`);
  }
  const fx = (native.eflags ^ emu.eflags) & flagMask;
  if (fx) {
    d.push(
      `flags ${flagNames(fx)}: native ${hex(native.eflags, 3)} [${flagNames(native.eflags & flagMask)}] emulator ${hex(emu.eflags, 3)} [${flagNames(emu.eflags & flagMask)}] (compared: ${flagNames(flagMask)})`,
    );
  }
  let shown = 0;
  let count = 0;
  for (let o = 0; o < native.mem.length; o++) {
    if (native.mem[o] === emu.mem[o]) continue;
    count++;
    if (shown++ < 12) d.push(`mem ${hex(MEM_BASE + o)}: native 0x${native.mem[o]!.toString(16).padStart(2, "0")} emulator 0x${emu.mem[o]!.toString(16).padStart(2, "0")} (initial 0x${c.mem[o]!.toString(16).padStart(2, "0")})`);
  }
  if (count > shown) d.push(`... ${count - shown} more memory bytes differ`);
  return d;
}

function isFailure(o: CaseOutcome): boolean {
  return o.diffs.length > 0;
}

/** Simpler variants of a case: one item removed, then simpler initial state. Every variant stays safe. */
function variants(c: Case): Case[] {
  const out: Case[] = [];
  if (c.items.length > 1) {
    for (let k = c.items.length - 1; k >= 0; k--) out.push({ ...c, items: c.items.filter((_, i) => i !== k) });
  }
  for (let r = 0; r < 8; r++) {
    if (r === ESP_INDEX || r === c.base || c.regs[r] === 0) continue;
    const regs = c.regs.slice();
    regs[r] = 0;
    out.push({ ...c, regs });
  }
  if ((c.eflags & COMPARED_FLAGS) !== 0) out.push({ ...c, eflags: BASE_EFLAGS });
  if (c.mem.some((b) => b !== 0)) out.push({ ...c, mem: new Uint8Array(c.mem.length) });
  return out;
}

/**
 * Greedy shrinking of several failing cases at once: every round runs all variants of every
 * unfinished case in one native batch and keeps, per case, the first variant that still fails.
 */
export async function shrink(failing: readonly CaseOutcome[], emulate: Emulate, maxRounds = 40): Promise<CaseOutcome[]> {
  const current = failing.slice();
  const done = current.map(() => false);
  for (let round = 0; round < maxRounds && done.includes(false); round++) {
    const owners: number[] = [];
    const candidates: Case[] = [];
    current.forEach((o, i) => {
      if (done[i]) return;
      const vs = variants(o.case);
      if (vs.length === 0) done[i] = true;
      for (const v of vs) {
        owners.push(i);
        candidates.push(v);
      }
    });
    if (candidates.length === 0) break;
    const res = await runCases(candidates, emulate, candidates.length > 64 ? 2 : 1);
    const improved = current.map(() => false);
    res.outcomes.forEach((o, k) => {
      const i = owners[k]!;
      if (!improved[i] && isFailure(o)) {
        current[i] = o;
        improved[i] = true;
      }
    });
    current.forEach((_, i) => {
      if (!improved[i]) done[i] = true;
    });
  }
  return current;
}

/** The last instruction of a shrunk case, as the key that groups failures. */
export function signature(o: CaseOutcome): string {
  const last = o.analysis.instructions[o.analysis.instructions.length - 1];
  return last ? last.text.replace(/\s.*$/, "") : "?";
}

export function formatOutcome(o: CaseOutcome, seed: number): string {
  const c = o.case;
  const lines: string[] = [];
  lines.push(`case ${c.id} of seed ${seed} (rerun: DIFF_SEED=${seed} DIFF_CASE=${c.id} node scripts/test.mjs machine/differential)`);
  lines.push("source:");
  for (const l of caseText(c).split("\n")) lines.push(`    ${l}`);
  lines.push("code:");
  const bytes = o.code.bytes;
  for (const ins of o.analysis.instructions) {
    const off = ins.address - o.code.address;
    const hexBytes = Array.from(bytes.subarray(off, off + ins.length), (b) => b.toString(16).padStart(2, "0")).join(" ");
    lines.push(`    ${hex(ins.address)}: ${hexBytes.padEnd(30)} ${ins.text}${ins.conditional ? "   (may be skipped)" : ""}`);
  }
  lines.push(
    "initial: " + R32.map((r, i) => `${r}=${hex(c.regs[i]!)}`).join(" ") + ` eflags=${hex(c.eflags, 3)} [${flagNames(c.eflags & COMPARED_FLAGS)}]`,
  );
  lines.push(`base register: %${R32[c.base]}; buffer at ${hex(MEM_BASE)} (${c.mem.some((b) => b !== 0) ? "random contents" : "all zero"})`);
  lines.push("differences:");
  for (const d of o.diffs) lines.push(`    ${d}`);
  return lines.join("\n");
}
