// Random GNU as programs against the ground truth: sensitive instructions in every spelling the
// catalogue gives, placed in the contexts kernels put them (labels on the line, `;` separators,
// comments of both kinds, prefixes on their own line, macros with and without arguments, nested,
// with \@ labels and defaults, .rept/.irp/.irpc, .if/.ifdef/.ifc, sections pushed, popped and
// .previous, .afterburn_noannotate regions, symbolic immediates, alignment, CRLF). Each program that GNU as accepts must
// be accepted afterburned too, and the two objects must pass the ground-truth check (truth.ts).
// Fixed seeds: every run sees the same programs; TRUTH_SEED runs another batch.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CATALOGUE } from "../../../core/isa/index.js";
import { afterburn } from "../../../core/burn/afterburn.js";
import { random } from "./corpora.js";
import { checkAfterburnedObject } from "./truth.js";

const PROGRAMS = 30;

/** Sensitive instructions as the catalogue spells them, and other spellings GNU as takes. */
function sensitive(mode: 32 | 64): string[] {
  const own = CATALOGUE.map((e) => (mode === 32 ? e.example.att32 : e.example.att64)).filter((x): x is string => x !== undefined);
  const r = mode === 32 ? "e" : "r";
  const more = [
    "inb %dx,%al", "inw (%dx),%ax", "outb %al,%dx", "outl %eax,$0x71", "insl", "outsw", "rep; outsb", "pushfw", "popfw",
    `movl %cr0,%eax`.replace("%eax", mode === 32 ? "%eax" : "%rax").replace("movl", mode === 32 ? "movl" : "movq"),
    `mov %${r}dx,%cr3`, "movw %ds,%ax", "mov %es,(%" + r + "bx)", "movw %ax,%ss", "mov %fs,%ecx", "str %ax", "sldt (%" + r + "ax)",
    "smsw %ax", "lmsw (%" + r + "ax)", "CLI", "Sti", "HLT", "int $X_VEC", "lret $X_VEC", "iretw", "lretw",
    mode === 32 ? "lgdt gdt_ptr" : "lgdt gdt_ptr(%rip)", mode === 32 ? "mov gdt_ptr,%ds" : "mov gdt_ptr(%rip),%fs", "ljmp *gdt_ptr",
    ...(mode === 32 ? ["movl %eax,%db0", "ljmp $0x10,$target", "lcall *gdt_ptr+2", "mov %dr6,%ecx", "pushw %ss", "popw %es", "iretl", "lretl", "ljmp *4(%esp)", "lcall $0x8,$target"] : ["movq %rax,%db0", "mov %dr6,%rcx", "pushw %fs", "popw %gs", "iretq", "lretq $4"]),
  ];
  return [...own, ...more];
}

function plainInsns(mode: 32 | 64): string[] {
  const r = mode === 32 ? "e" : "r";
  return [
    "nop", `mov %${r}ax,%${r}bx`, `add $4,%${r}sp`, "lock incl (%" + r + "ax)", "rep movsb", "rep stosl", `movl %fs:4,%eax`,
    `mov %ds:8(%${r}bx),%ecx`, "xor %eax,%eax", "jmp 1f\n1:", "call target", `push %${r}bp`, `pop %${r}bp`, "pause", "mfence",
  ];
}

function program(seed: number, mode: 32 | 64): string {
  const rnd = random(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const hot = sensitive(mode);
  const cold = plainInsns(mode);
  const insn = () => (rnd() < 0.55 ? pick(hot) : pick(cold));
  const out: string[] = [mode === 32 ? ".code32" : ".code64", ".equ X_VEC, 0x80", ".data", "gdt_ptr: .word 0, 0, 0, 0, 0", ".text", "target:"];
  let n = 0;
  for (let k = 0; k < 40; k++) {
    n++;
    switch (Math.floor(rnd() * 30)) {
      case 0: out.push(`L${n}: ${insn()}`); break;
      case 1: out.push(`\t${insn()} ; ${insn()}`); break;
      case 2: out.push(`\t${insn()}\t# ${pick(["cli", "a comment", "mov %eax,%cr3"])}`); break;
      case 3: out.push(`\t${insn()} /* ${pick(["sti", "x"])} */ ; ${insn()}`); break;
      case 4: out.push(`/* a comment\n   over lines; hlt */ ${insn()}`); break;
      case 5: out.push(`1:\t${insn()}`, "\tjmp 1b"); break;
      case 6: out.push(`.macro m${n}`, `\t${insn()}`, `\t${insn()}`, ".endm", `\tm${n}`, `m${n}`); break;
      case 7: out.push(`.macro p${n} insn`, "\t\\insn", ".endm", `\tp${n} "${pick(hot)}"`); break;
      case 8: out.push(".rept 2", `\t${insn()}`, ".endr"); break;
      case 9: out.push(mode === 32 ? ".irp reg,%eax,%ebx" : ".irp reg,%rax,%rbx", "\tmov \\reg,%cr3", ".endr"); break;
      case 10: out.push(`.if ${pick(["0", "1", "X_VEC == 0x80"])}`, `\t${insn()}`, ".else", `\t${insn()}`, ".endif"); break;
      case 11: out.push(`.pushsection .text.p${n},"ax",@progbits`, `\t${insn()}`, ".popsection"); break;
      case 12: out.push(`.section .text.s${n},"ax",@progbits`, `\t${insn()}`, ".data", "\t.long 0", ".text"); break;
      case 13: out.push(".afterburn_noannotate", `\t${insn()}`, ".afterburn_annotate"); break;
      case 14: out.push(`.L${n}:`, "\t.balign 8", `\t${insn()}`); break;
      case 15: out.push(...pick([["rep", "insb"], ["rep", "outsl"], ["rep", "movsb"], ["lock", `incl (%${mode === 32 ? "e" : "r"}ax)`], ["repnz", "scasb"], ["cs", "cli"], ["data16", "pushf"], ["rep", "data16\n\toutsl"]]).map((x) => `\t${x}`)); break;
      case 16: out.push(`\t${insn()}; ${n}:`, `\tjmp ${n}b`); break;
      case 17: out.push(`a${n}: b${n}: ${insn()}`); break;
      case 18: out.push(`.macro in${n}`, `\t${insn()}`, ".endm", `.macro out${n}`, `\tin${n}`, `\t${insn()}`, ".endm", `\tout${n}`); break;
      case 19: out.push(`.macro u${n}`, `.Lu${n}_\\@: ${insn()}`, `\tjmp .Lu${n}_\\@`, ".endm", `\tu${n}`, `\tu${n}`); break;
      case 20: out.push(`.macro d${n} a=cli`, "\t\\a", ".endm", `\td${n}`, `\td${n} "${pick(hot)}"`); break;
      case 21: out.push(pick([".ifdef X_VEC", ".ifndef X_VEC", ".ifc a,a", ".ifnc a,b"]), `\t${insn()}`, ".endif"); break;
      case 22: out.push(".irpc c,12", "\tint $0x\\c", ".endr"); break;
      case 23: out.push(`\t${pick(["cli", "sti", "hlt", "clts"])}#x`, `\t${pick(["cli", "rdtsc"])}/*x*/;${pick(["sti", "cpuid"])}`); break;
      case 24: out.push(`.section .text.q${n}, "ax"`, `\t${insn()}`, ".previous"); break;
      case 25: out.push(".data", '\t.string "cli; sti # not code"', "\t.byte 0xfa", ".text"); break;
      case 26: out.push("\t.p2align 4,,10", "\t.p2align 3", `\t${insn()}`); break;
      case 28: out.push(`.macro pr${n}`, "\trep", `\t${pick(["insb", "outsl"])}`, ".endm", `\tpr${n}`, ".rept 2", "\trep", "\tinsl", ".endr"); break;
      case 27: out.push(`\t${insn()}   \t`, "", "   ", `${insn()}`); break;
      default: out.push(`\t${insn()}`);
    }
  }
  // every fifth program with CRLF line breaks
  return seed % 5 === 0 ? out.join("\r\n") + "\r\n" : out.join("\n") + "\n";
}

function as(mode: 32 | 64, src: string, obj: string): { ok: boolean; stderr: string } {
  const r = spawnSync("as", [`--${mode}`, "-o", obj, src], { encoding: "utf8" });
  return { ok: r.status === 0, stderr: r.stderr };
}

const BASE = Number(process.env.TRUTH_SEED ?? 0xb0a7);

for (const mode of [32, 64] as const) {
  test(`random programs -m${mode} (seeds ${BASE}…+${PROGRAMS - 1}): GNU as takes each afterburned, and the objects pass the ground-truth check`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ab-random-truth-"));
    // The folder stays when a program fails: the message names its files.
    let checked = 0;
    for (let k = 0; k < PROGRAMS; k++) {
      const seed = BASE + k;
      const text = program(seed, mode);
      const src = join(dir, `p${seed}.s`);
      writeFileSync(src, text);
      // The plain object: the afterburner's own directives are not GNU as's.
      const plainSrc = join(dir, `p${seed}.plain.s`);
      writeFileSync(plainSrc, text.replace(/^\.afterburn_(no)?annotate$/gm, ""));
      const plain = as(mode, plainSrc, join(dir, "plain.o"));
      assert.ok(plain.ok, `seed ${seed}: the generator wrote a program GNU as refuses (${src}):\n${plain.stderr}`);
      const burnt = afterburn(text, { mode, fileName: src });
      const out = join(dir, `p${seed}.burnt.s`);
      writeFileSync(out, burnt.output);
      const b = as(mode, out, join(dir, "burnt.o"));
      assert.ok(b.ok, `seed ${seed}: GNU as refuses the afterburned program (${src} → ${out}):\n${b.stderr}`);
      await checkAfterburnedObject(join(dir, "plain.o"), join(dir, "burnt.o"), burnt.sites, mode, `seed ${seed} (${src}): `);
      checked++;
    }
    assert.equal(checked, PROGRAMS);
    rmSync(dir, { recursive: true, force: true });
  });
}

test("the generator's programs, taken together, put sensitive instructions in every context", () => {
  const text = Array.from({ length: PROGRAMS }, (_, k) => program(BASE + k, 32)).join("\n");
  for (const context of [/^\.macro p\d+ insn$/m, /^\.rept 2$/m, /^\.irp /m, /^\.pushsection /m, /^\.afterburn_noannotate$/m, /^L\d+: /m, /\/\* a comment\n/]) {
    assert.match(text, context);
  }
});

test("the ground-truth check fails on a branch that lands elsewhere, a changed instruction, or padding without a record", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-truth-neg-"));
  try {
    const plainText = ".code32\n1: cli\n\tinc %eax\n\tjmp 1b\n2: sti\n";
    const plainSrc = join(dir, "plain.s");
    writeFileSync(plainSrc, plainText);
    assert.ok(as(32, plainSrc, join(dir, "plain.o")).ok);
    const good = afterburn(plainText, { mode: 32, fileName: plainSrc });
    const variants: [string, string, RegExp][] = [
      ["a branch that lands elsewhere", good.output.replace("jmp 1b", "jmp 2f"), /is not where/],
      ["a changed instruction", good.output.replace("inc %eax", "dec %eax"), /not the plain code plus padding/],
      ["padding without a record", good.output.replace(/\.pushsection \.afterburn[^\n]*?\.popsection/, ""), /no \.afterburn record|records/],
    ];
    for (const [what, text, expected] of variants) {
      assert.notEqual(text, good.output, what);
      const src = join(dir, "bad.s");
      writeFileSync(src, text);
      assert.ok(as(32, src, join(dir, "bad.o")).ok, what);
      await assert.rejects(checkAfterburnedObject(join(dir, "plain.o"), join(dir, "bad.o"), good.sites, 32), expected, what);
    }
    writeFileSync(join(dir, "good.s"), good.output);
    assert.ok(as(32, join(dir, "good.s"), join(dir, "good.o")).ok);
    await checkAfterburnedObject(join(dir, "plain.o"), join(dir, "good.o"), good.sites, 32);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
