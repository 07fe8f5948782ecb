// Self-checks of the differential harness that need no emulator: the native runner, the
// generator's safety and the undefined-flag analysis.

import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeCase } from "./analysis.js";
import { type Case, BASE_EFLAGS, INIT_ESP, MEM_BASE, MEM_SIZE, caseText, generateCases } from "./generator.js";
import { runNative } from "./native.js";

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;

function handCase(lines: string[], regs: Partial<Record<number, number>> = {}, eflags = BASE_EFLAGS): Case {
  const r = [0x11111111, 0x22222222, 0x33333333, MEM_BASE, INIT_ESP, 0x55555555, 0x66666666, 0x77777777];
  for (const [k, v] of Object.entries(regs)) r[Number(k)] = v!;
  const mem = new Uint8Array(MEM_SIZE);
  for (let i = 0; i < MEM_SIZE; i++) mem[i] = i & 0xff;
  return { id: 0, regs: r, eflags, mem, items: [{ lines, stackNet: 0 }], base: 3 };
}

test("native: add $1 to 0xffffffff gives 0 with ZF and CF set", async () => {
  const b = await runNative([handCase(["addl $1, %eax"], { 0: 0xffffffff })]);
  assert.equal(b.crash, undefined);
  const r = b.results[0]!;
  assert.equal(r.regs[0], 0);
  assert.equal(r.eflags & (CF | ZF | SF | OF), CF | ZF);
  assert.deepEqual(Array.from(b.code[0]!.bytes), [0x83, 0xc0, 0x01]);
});

test("native: initial flags, stack and buffer reach the case and come back", async () => {
  const cases = [
    handCase(["pushl $0x12345678", "movl %eax, 8(%ebx)"], { 0: 0xcafef00d }),
    handCase(["cmc", "lahf"], {}, BASE_EFLAGS | CF | DF),
    handCase(["std", "movl $0, %ecx", "leal 100(%ebx), %edi", "movl $2, %ecx", "movl $0xabcdef01, %eax", "rep stosl"]),
  ];
  const b = await runNative(cases);
  assert.equal(b.crash, undefined);
  const [p, f, s] = b.results as NonNullable<(typeof b.results)[number]>[];
  assert.equal(p!.regs[4], INIT_ESP - 4);
  const pushedAt = INIT_ESP - 4 - MEM_BASE;
  assert.deepEqual(Array.from(p!.mem.subarray(pushedAt, pushedAt + 4)), [0x78, 0x56, 0x34, 0x12]);
  assert.deepEqual(Array.from(p!.mem.subarray(8, 12)), [0x0d, 0xf0, 0xfe, 0xca]);
  // cmc cleared CF; DF came in set and stays; lahf copied SF ZF AF PF CF (+ bit 1) into AH.
  assert.equal(f!.eflags & (CF | DF), DF);
  assert.equal((f!.regs[0]! >>> 8) & 0xff, 0x02);
  // std + rep stosl stores downwards from offset 100: offsets 100..103 and 96..99.
  assert.deepEqual(Array.from(s!.mem.subarray(96, 104)), [1, 0xef, 0xcd, 0xab, 1, 0xef, 0xcd, 0xab]);
  assert.equal(s!.regs[7], MEM_BASE + 92);
  assert.equal(s!.eflags & DF, DF);
});

test("native: the same batch run twice gives identical code and results", async () => {
  const cases = generateCases(7, 300);
  const [a, b] = await Promise.all([runNative(cases), runNative(cases)]);
  assert.equal(a.crash, undefined);
  assert.deepEqual(a.code, b.code);
  assert.deepEqual(a.results, b.results);
});

test("generator: same seed, same cases; different seed, different cases", () => {
  const t = (s: number) => generateCases(s, 50).map(caseText).join("\n;\n");
  assert.equal(t(3), t(3));
  assert.notEqual(t(3), t(4));
});

test("generator: thousands of cases assemble, run natively without faults, and decode as written", async () => {
  const cases = generateCases(12345, 4000);
  const halves = [cases.slice(0, 2000), cases.slice(2000)];
  const batches = await Promise.all(halves.map((h) => runNative(h)));
  batches.forEach((b, h) => {
    assert.equal(b.crash, undefined, b.crash && `native crash on:\n${caseText(halves[h]![b.crash.caseIndex]!)}`);
    b.code.forEach((code, i) => {
      const c = halves[h]![i]!;
      const a = analyzeCase(code.address, code.bytes);
      const written = caseText(c).split("\n").filter((l) => !/^\d+:$/.test(l)).length;
      assert.equal(a.instructions.length, written, `instruction count of\n${caseText(c)}\nvs ${a.instructions.map((x) => x.text).join("; ")}`);
    });
  });
});

async function analyzed(lines: string[]) {
  const b = await runNative([handCase(lines)]);
  return analyzeCase(b.code[0]!.address, b.code[0]!.bytes);
}

test("analysis: undefined flags are masked; reading them makes a case incomparable", async () => {
  const mul = await analyzed(["mull %ecx"]);
  assert.equal(mul.flagMask, CF | OF | DF);
  assert.equal(mul.incomparable, null);
  const redefined = await analyzed(["mull %ecx", "addl %eax, %edx"]);
  assert.equal(redefined.flagMask, CF | PF | AF | ZF | SF | OF | DF);
  const bad = await analyzed(["bsfl %ecx, %eax", "adcl $0, %edx"]);
  assert.match(bad.incomparable ?? "", /CF/);
  // A count in CL may be zero: the shift may leave bsf's undefined CF in place.
  const byCl = await analyzed(["bsfl %ecx, %eax", "shll %cl, %edx"]);
  assert.equal(byCl.flagMask & CF, 0);
  const byImm = await analyzed(["bsfl %ecx, %eax", "shll $3, %edx"]);
  assert.equal(byImm.flagMask & (CF | OF), CF);
  // rep cmps with ECX = 0 compares nothing and leaves the flags as they were.
  const rep = await analyzed(["bsfl %ecx, %eax", "movl $0, %ecx", "repe cmpsb"]);
  assert.equal(rep.flagMask & (CF | PF), 0);
  // An instruction a forward branch may skip cannot define flags.
  const skipped = await analyzed(["bsfl %ecx, %eax", "jz 1f", "addl $1, %edx", "1:"]);
  assert.equal(skipped.flagMask & CF, 0);
  assert.equal(skipped.instructions[2]!.conditional, true);
});
