// GNU as forms the afterburner once misread, checked against GNU as itself: each source is assembled
// plain and afterburned (both with `as`), and truth.ts holds the objects to the rule that every
// sensitive instruction objdump + iced-x86 find carries exactly one .afterburn record over it and
// its NOP padding, with the code otherwise unchanged.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterburn } from "../../../core/burn/afterburn.js";
import { checkAfterburnedObject } from "./truth.js";

function assembleFile(dir: string, name: string, source: string, mode: 32 | 64): string {
  const s = join(dir, `${name}.s`);
  const o = join(dir, `${name}.o`);
  writeFileSync(s, source);
  try {
    execFileSync("as", [`--${mode}`, "-o", o, s], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    assert.fail(`as --${mode} rejects the ${name} source: ${String((e as { stderr?: Buffer }).stderr ?? e)}\n${source}`);
  }
  return o;
}

/** Afterburns `src` (both parser paths), assembles plain and burnt, checks the truth; returns the sensitive count. */
async function truth(src: string, mode: 32 | 64 = 32, unannotated = 0): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "ab-gas-forms-"));
  try {
    const plain = assembleFile(dir, "plain", src, mode);
    let sensitive = -1;
    for (const fullParse of [false, true]) {
      const r = afterburn(src, { mode, fileName: "t.s", fullParse });
      assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), [], `fullParse=${fullParse}`);
      const burnt = assembleFile(dir, `burnt${fullParse ? "-full" : ""}`, r.output, mode);
      const t = await checkAfterburnedObject(plain, burnt, r.sites, mode, `fullParse=${fullParse}: `);
      assert.equal(r.sites.length, t.sensitive, `fullParse=${fullParse}: every sensitive instruction is a site`);
      assert.equal(r.sites.filter((s) => !s.annotated).length, unannotated, `fullParse=${fullParse}: sites not annotated`);
      // Each site left unannotated says so in a warning at its line.
      for (const site of r.sites.filter((s) => !s.annotated)) {
        assert.ok(r.diagnostics.some((d) => d.severity === "warning" && d.from === "afterburner" && d.line === site.input.line), `fullParse=${fullParse}: a warning for line ${site.input.line}`);
      }
      sensitive = t.sensitive;
    }
    return sensitive;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a prefix joined to its mnemonic with '/' (rep/insb) is read as GNU as reads it: the string instruction gets its record", async () => {
  const src = ["\t.text", "\trep/insb", "\tREP/OUTSB", "\tdata16/insl", "f:\tlock/incl (%eax)", "\tcli", "\tcs/rep/outsl", ""].join("\n");
  assert.equal(await truth(src), 5);
});

test("quoted symbol names as labels and operands: the instruction after such a label gets its record, in a macro written out too", async () => {
  const src = [
    "\t.text",
    '"foo bar":\tcli',
    '\tjmp "foo bar"',
    '"a:b": "c;d": sti',
    '"lbl#1":\thlt',
    '\tjmp "lbl#1"   # a comment',
    '\tmovl "foo bar"+4(%eax), %eax',
    // sensitive for one argument only: the cli call is written out, its quoted label with it
    "\t.macro m insn",
    '"q \\insn":\t\\insn',
    '\tjmp "q \\insn"',
    "\t.endm",
    "\tm nop",
    "\tm cli",
    '"e\\"f":\tsti',
    "",
  ].join("\n");
  assert.equal(await truth(src), 5);
});

test("a prefix on its own line in a loop written out stays a statement of its own (rep; cli is what GNU as assembles, rep cli it rejects)", async () => {
  const src = ["\t.text", "\t.rept 2", "\t.irp i,nop,cli", "\trep", "\t\\i", "\t.endr", "\t.endr", "\t.irp r,eax,ds", "\tdata16", "\tpushl %\\r", "\t.endr", ""].join("\n");
  assert.equal(await truth(src), 3);
});

test(".altmacro: LOCAL names, %expr and <text> arguments and bare parameter names expand as GNU as expands them", async () => {
  const src = [
    "\t.altmacro",
    "\t.macro setcr n, src",
    "\tLOCAL skip",
    "\ttestl src, src",
    "\tjz skip",
    "\tmovl src, %cr&n",
    "skip:",
    "\t.endm",
    "\t.macro many count",
    "\t.rept count",
    "\tcli",
    "\t.endr",
    "\t.endm",
    "\t.text",
    "\tsetcr 3, <%eax>",
    "\tsetcr %(1+3), <%ecx>",
    "\tmany %2+1",
    "\t.set X, 2",
    "\tsetcr %X, <%edx>",
    "\t.irp i, %(X-2), 4",
    "\tmovl %eax, %cr&i",
    "\t.endr",
    "\t.noaltmacro",
    "",
  ].join("\n");
  assert.equal(await truth(src), 8);
});

test("&name substitutes a macro parameter as \\name does, and \\(text) stands for the text", async () => {
  const src = ["\t.text", "\t.macro setcr n, r", "\tmovl %eax, %cr&n", "\tpushl %&r&", "\tmovl %e\\(ax), %cr&n", "\t.endm", "\tsetcr 3, ds", "\tsetcr 0, es", ""].join("\n");
  assert.equal(await truth(src), 6);
});

test(".irp values separated by blanks are values of their own, as GNU as reads them", async () => {
  const src = ["\t.text", "\t.irp i,nop sti,hlt", "\t\\i", "\t.endr", "\t.irp r,eax ds", "\tpushl %\\r", "\t.endr", ""].join("\n");
  assert.equal(await truth(src), 3);
});

test(".altmacro: a parameter named as a word of the record the afterburner writes in a body (b of 9997b) cannot corrupt it: the call is written out, or left unannotated with a warning", async () => {
  const body = ["\t.altmacro", "\t.macro m a, b", "\t\\a", "\t.endm"];
  assert.equal(await truth([...body, "\t.text", "\tm cli, x", "\tm sti", ""].join("\n")), 2);
  // called from a macro with a conditional, which is not written out: not annotated, with a warning
  const nested = [...body, "\t.macro n a, b", "\t.if 1", "\tm a, b", "\t.endif", "\t.endm", "\t.text", "\tm cli, x", "\tn sti, y", ""].join("\n");
  assert.equal(await truth(nested, 32, 1), 2);
});

test("sensitive instructions written as .byte in a code section are listed, not annotated, with a warning at their line naming what they encode", async () => {
  const src = [
    "\t.text",
    "f:\t.byte 0xf3,0x90", // pause: not sensitive
    "\t.byte 0x0f, 0x20",
    "\t.byte 0xd8", // with the line before: mov %cr3,%eax
    "\t.byte 0xfa # cli",
    "\t.section .rodata",
    "\t.byte 0xfa, 0xf4", // data
    "\t.previous",
    "\tmovl %eax, %ebx",
    "\t.macro WRCR3",
    "\t.byte 0x0f,0x22,0xd8",
    "\t.endm",
    "\tWRCR3",
    "",
  ].join("\n");
  assert.equal(await truth(src, 32, 3), 3);
  const withoutMacro = src.replace("\t.macro WRCR3\n\t.byte 0x0f,0x22,0xd8\n\t.endm\n\tWRCR3\n", "\t.byte 0x0f,0x22,0xd8\n");
  assert.equal(await truth(withoutMacro, 32, 3), 3);
  for (const fullParse of [false, true]) {
    const r = afterburn(withoutMacro, { fileName: "k.S", fullParse });
    assert.deepEqual(r.sites.map((s) => [s.input.line, s.id, s.annotated]), [[3, "mov-from-cr3", false], [5, "cli", false], [10, "mov-to-cr3", false]], `fullParse=${fullParse}`);
    const warnings = r.diagnostics.filter((d) => d.severity === "warning").map((d) => `${d.file}:${d.line}: ${d.message}`);
    assert.equal(warnings.length, 3, `fullParse=${fullParse}`);
    assert.match(warnings[0], /^k\.S:3: mov: not annotated: written as data: \.byte 0x0f, 0x20; \.byte 0xd8 encodes 'mov %cr3,%eax'/);
    assert.match(warnings[2], /^k\.S:10: .*encodes 'mov %eax,%cr3' \(mov-to-cr3\)/);
    assert.equal(r.output, withoutMacro, "the bytes are left as they are");
  }
});

test("a lone prefix, then comment or cpp-looking lines (#undef, a line marker), then its instruction: one instruction to GNU as, the record covers the prefix on both parser paths", async () => {
  const src = ["\t.text", "\tds", "#undef X", "\tpopf", "\trep", '# 7 "a.c"', "\tinsb", "\tds", "#define Y 1", "\tpushfl", ""].join("\n");
  assert.equal(await truth(src), 3);
});

test("a .byte run parted by blank, comment or label lines is one run on both parser paths (GNU as's bytes do not care): its sensitive instruction is found", async () => {
  for (const between of ["\t# split", "", ".Lx:"]) {
    const src = ["\t.text", "\t.byte 0x0f", between, "\t.byte 0x01, 0xd0", "\tnop", ""].join("\n");
    assert.equal(await truth(src, 32, 1), 1, JSON.stringify(between));
  }
});

test("a lone prefix, then directives that emit no bytes (.loc, .cfi_*), then its instruction: the record covers the prefix on both parser paths", async () => {
  const src = ['\t.file 1 "a.c"', "\t.text", "\t.cfi_startproc", "\trep", "\t.loc 1 5", "\tinsl", "\tds", "\t.cfi_def_cfa_offset 8", "\t.globl g", "\tpopf", "\t.cfi_endproc", ""].join("\n");
  assert.equal(await truth(src), 2);
});
