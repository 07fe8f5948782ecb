// The afterburner's fast path (core/burn/prefilter.ts) must give exactly what the full parser path
// gives: the same output bytes, the same sites and the same afterburner diagnostics. Random
// compiler-style and token-soup inputs, gcc -S output of the burn corpus and the example guests,
// and hand-written edge cases; each input is also checked to have taken the path it was meant to.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterburn, type BurnResult } from "../../../core/burn/afterburn.js";
import { scanSites } from "../../../core/burn/prefilter.js";
import { CATALOGUE } from "../../../core/isa/index.js";

const root = join(__dirname, "..", "..", "..");
const corpus = join(__dirname, "corpus");

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

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

const SPELLINGS = [...new Set(CATALOGUE.flatMap((e) => [...e.mnemonics]))];
const EXAMPLES = CATALOGUE.flatMap((e) => [e.example.att32, e.example.att64].filter((x): x is string => x !== undefined));

/** Lines as gcc, hand-written kernels and inline asm write them; `{}` is replaced by a counter. */
const TEMPLATES = [
  "\tmovl\t%eax, %ebx", "\tmovl\t8(%ebp), %eax", "\tpushl\t%ebp", "\tpopl\t%ebp", "\tret", "\tleal\t0(,%eax,4), %edx",
  "\tmovl\t%eax, %cr3", "\tmovl\t%cr0, %eax", "\tmov %cr4, %rax", "\tmovq %rax, %cr8", "\tmovl %db7, %eax", "\tmovl %eax,%dr6",
  "\tmovw\t%ax, %ds", "\tmovw %fs, %ax", "\tmovl %fs:4(%eax), %ebx", "\tpushl %fs", "\tpopl %gs", "\tpush %es", "\tpopw %ss",
  "\tmovl %esp, %esi", "\tpushl %esi", "\tMOVL %EAX, %CR3", "\tMovl %Cr0, %eax", "\tPUSHL %DS", "\tcli", "\tsti", "\tCLI", "\thlt",
  "\tpushfl", "\tpopfl", "\tinb $0x60, %al", "\toutb %al, %dx", "\tinl (%dx), %eax", "\trep outsb", "\trep; insl", "\tlock incl (%eax)",
  "\tlcall $0x10, $f", "\tljmp *(%eax)", "\tlret $4", "\tiret", "\tint $0x80", "\tint3", "\tcpuid", "\trdtsc", "\twrmsr", "\tswapgs",
  "\tlgdt gdt_desc", "\tlidtl (%eax)", "\tsgdt (%eax)", "\tstr %ax", "\tlar %eax, %ebx", "\tlsll %eax, %ebx", "\tverr %ax", "\tclts",
  "\tinvlpg (%eax)", "\twbinvd", "\tsysenter", "\tud2", "\tmovl %eax, %ebx # cli", "\tmovl %eax, %ebx # %cr0", "\tmovl $1, %eax; cli",
  "cli; sti", "1: cli", "f{}: sti", ".L{}: movl %eax, %cr3", "f{}:", ".L{}:", "1:", "2: 3: hlt", "\tjmp 1b", "\tjmp 1f",
  "\t.text", "\t.data", "\t.bss", '\t.section .fixup,"ax"', '\t.section ".text.unlikely","ax",@progbits', "\t.section", "\t.previous",
  "\t.pushsection .x{}", "\t.popsection", '\t.pushsection ".y"', "\t.code16", "\t.code32", "\t.code64", "\t.code16gcc",
  '\t.file "t.c"', '\t.file 1 "a.c"', '\t.file 2 "b/c.h"', "\t.loc 1 {} 3", "\t.loc 2 {} 0", "\t.loc 1 {}", "\t.loc 9 {} 1",
  "#APP", "#NO_APP", '# {} "drv.c" 1', '# 0 "" 2', "# {}", "#line {}", '#line {} "x.S"', "# a comment", "#APP ", "  #NO_APP",
  '\t.string "a;b cli"', '\t.ascii "%cr0"', "\t.long 1, 2", "\t.globl f{}", "\t.type f{}, @function", "\t.size f{}, .-f{}",
  "\t.afterburn_noannotate", "\t.afterburn_annotate", "\t.afterburn_memop pte_set", "\t.afterburn_memop pte_test_clear, 2",
  "\t.AFTERBURN_NOANNOTATE", "\t.afterburn_memop nosuch", "\t.afterburn_memop lapic_write, 9", "x = 5", "x{} = . - f{}", ". = 0x100",
  "\t{disp32} movl %eax, %ebx", "\t%fs: movl (%eax), %ebx", "\tdata16 lgdt (%eax)", "\tcs lcall *(%eax)", "\trex.w sysret",
  "", "   ", "\t", "\t# comment only", "/ slash comment", "\tmovl\t%eax, -4(%ebp)\t", "\tcmpl\t$10, %eax",
  "\\bad", "f\u00e9{}: cli", "\tcli /* c */", "/* cli", "*/ sti", "/* x */ hlt", "\tmovl %eax, /* %cr3 */ %ebx", "\tmovl %eax /* x */, %cr0",
  "#define N {}", "#undef N", "#define M(a) a \\", "\tcli /* one */ /* two */", "\tnop @x", "\tcall *%eax", "\tlcallw *%cs:(%eax)", "\tpush %cs", "\tpopl (%eax)",
];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

test("random compiler-style input: fast path and full parser agree, and the fast path applies", () => {
  let fastCount = 0;
  for (let n = 0; n < 400; n++) {
    const rnd = random(1000 + n);
    const lines: string[] = [];
    const count = 5 + Math.floor(rnd() * 80);
    for (let i = 0; i < count; i++) {
      let l = rnd() < 0.1 ? "\t" + pick(rnd, EXAMPLES) : pick(rnd, TEMPLATES);
      l = l.replace(/\{\}/g, String(i + 1));
      if (rnd() < 0.05) l = l.toUpperCase();
      lines.push(l);
    }
    const eol = rnd() < 0.15 ? "\r\n" : "\n";
    const text = lines.join(eol) + (rnd() < 0.5 ? eol : "");
    if (same(text, `case ${n}`, rnd() < 0.3 ? 64 : 32)) fastCount++;
  }
  // Upper-casing can turn a line into something only the full parser handles (#IF, .IF); most stay fast.
  assert.ok(fastCount > 250, `the fast path applied to ${fastCount} of 400 inputs`);
});

test("random token soup: fast path and full parser agree", () => {
  const tokens = [
    ...SPELLINGS, "movl", "mov", "pushl", "popl", "%cr0", "%cr3", "%cr8", "%db7", "%dr0", "%fs", "%gs", "%ds:", "%esp", "%eax", "%dx", "(%dx)",
    "$1", "$0x10,", ",", ";", ":", "#", "# 3 \"a.c\"", "#APP", "#NO_APP", "1:", "1b", "f:", ".L1:", "*", "(", ")", "\"", "'", "\\", "\t", " ",
    ".text", ".data", ".section", ".pushsection", ".popsection", ".previous", ".code16", ".code64", ".loc", ".file", "\"x.c\"",
    ".afterburn_memop", "pte_set", ".afterburn_noannotate", ".afterburn_annotate", "lock", "rep", "data16", "{disp8}", "=", "\u00e9",
    "/*", "*/", "/* x */", "#define", "#undef", "\\",
  ];
  for (let n = 0; n < 600; n++) {
    const rnd = random(50_000 + n);
    const lines: string[] = [];
    for (let i = 0, count = 1 + Math.floor(rnd() * 30); i < count; i++) {
      let l = "";
      for (let k = 0, w = Math.floor(rnd() * 7); k < w; k++) l += pick(rnd, tokens) + (rnd() < 0.7 ? " " : "");
      lines.push(l);
    }
    same(lines.join(rnd() < 0.1 ? "\r\n" : "\n"), `soup ${n}`, rnd() < 0.3 ? 64 : 32);
  }
});

test("what the fast path does not model goes to the full parser", () => {
  const full = [
    ".macro m\ncli\n.endm\nm\n", ".rept 2\ncli\n.endr\n", ".irp r,a,b\ncli\n.endr\n", ".if 0\ncli\n.endif\nsti\n",
    ".ifdef X\ncli\n.else\nsti\n.endif\n", "#if 0\ncli\n#endif\n", "#ifdef X\ncli\n#endif\n", "cli\rsti\r", "f: .macro m\nhlt\n.endm\n", "nop; .rept 3\ncli\n.endr\n", "x: .IF 1\ncli\n.ENDIF\n"
  ];
  for (const text of full) {
    assert.equal(scanSites(text, 32), undefined, JSON.stringify(text));
    same(text, JSON.stringify(text));
  }
  // .if 0 hides its body from as: neither path may annotate it.
  assert.deepEqual(afterburn(".if 0\ncli\n.endif\nsti\n").sites.map((s) => s.mnemonic), ["sti"]);
});

test("edge cases: quoted section names, repeated sections, cpp continuation lines, claimed memop lines", () => {
  const cases = [
    '.section ".fixup","ax"\ncli\n.text\n.text\n.previous\nsti\n',
    ".text\n.section .a\n.section .a\n.previous\nhlt\n.pushsection\ncli\n.popsection\n.popsection\nsti\n",
    "# comment \\\ncli\nsti\n", '# 5 "a.c" 1 \\\ncli\nsti\n',
    ".afterburn_memop pte_set\n\n.L1:\n\t.p2align 4\n\tmovl %edx, (%eax)\n\tmovl %edx, 4(%eax)\n",
    ".afterburn_memop pte_test_clear, 2\nlock btrl $0, (%eax)\nsbbl %eax, %eax\nmovl %eax, %ebx\n",
    ".afterburn_memop pte_test_clear, 2\n.afterburn_memop nosuch\nmovl %eax, %ebx\npushl %ebp\nret\n",
    ".afterburn_memop lapic_write, 8\n" + "nop\n".repeat(7) + "movl %eax, (%ebx)\nmovl %eax, 4(%ebx)\n",
    '\t.file 1 "a.c"\n\t.loc 1 5 0\n\t.loc 1 6 2\n\t.file 2 "b.c"\n\t.loc 2 7 1\n\tcli\n\t.loc 3 8 1\n\tsti\n',
    '\t.loc 1 5 0\n\t.file 1 "late.c"\n\tcli\n',
    "cli\r\n.section .x\r\nsti\r\n", ".text\nf:\n\tcli", "cli\n\n\n", "\n", "",
    "#define CR 3\nmovl %eax, %cr3\n", "# define X \\\ncli\nsti\n", "#define Y 1 \\\n  + 2 \\\n  hlt\nsti\n",
    "cli /* x */\n", "/* cli */ sti\n", "/*\ncli\n*/ hlt\nsti\n", "movl %eax, %ebx /* start\n\tmovl %eax, %cr3\n end */ movl %cr0, %eax\n",
    "/* a */ cli /* b */ ; /* c */ sti\n", '.ascii "/*"\ncli\n', "# 3 \"a.c\" /* x\ny */\ncli\n", "#APP\n/*\n#NO_APP\n*/\ncli\n",
    "/* never closed\ncli\n",
  ];
  for (const text of cases) assert.ok(same(text, JSON.stringify(text)), `fast path expected for ${JSON.stringify(text)}`);
  const r = afterburn('.section ".fixup","ax"\ncli\n');
  assert.equal(r.sites[0]!.section, ".fixup", "quotes stripped as the full parser does");
});

test("repeated lines, parsed once, keep their own line, origin, mode, section and lexer state", () => {
  const cases = [
    '# 5 "a.c" 1\n\tcli\n# 0 "" 2\n\tcli\n# 5 "a.c" 1\n\n\tcli\n',
    "\tcli; sti\n.code64\n\tcli; sti\n.section .x\n\tcli; sti\n.previous\n\tcli; sti\n",
    "\tmovl %eax, %ebx /* open\n\tcli */ sti\n\tmovl %eax, %ebx /* open\n\tcli */ sti\n",
    "#define X \\\n\tcli\n#define X \\\n\tcli\n\tcli\n",
    ".afterburn_memop pte_set\n\tmovl %edx, (%eax)\n\tmovl %edx, (%eax)\n.afterburn_memop pte_set\n\tmovl %edx, (%eax)\n",
    "\tmovl %eax, %cr3\n".repeat(5) + ".afterburn_noannotate\n" + "\tmovl %eax, %cr3\n".repeat(2) + ".afterburn_annotate\n\tmovl %eax, %cr3\n",
  ];
  for (const text of cases) {
    assert.ok(same(text, JSON.stringify(text)), `fast path expected for ${JSON.stringify(text)}`);
    assert.ok(same(text.replace(/\n/g, "\r\n"), JSON.stringify(text) + " with CRLF"));
  }
  const r = afterburn('# 5 "a.c" 1\n\tcli\n\tcli\n');
  assert.deepEqual(r.sites.map((x) => [x.input.line, x.source?.line]), [[2, 5], [3, 6]]);
});

test("gcc -S output of the burn corpus and the example guests: fast path and full parser agree", () => {
  const inputs: { name: string; text: string; mode: 32 | 64 }[] = [];
  const cc = (file: string, args: string[]) => execFileSync("gcc", [...args, "-ffreestanding", "-fno-pic", "-I", corpus, "-I", join(root, "include"), "-I", join(root, "examples", "lib"), "-S", "-o", "-", file], { encoding: "utf8" });
  for (const f of readdirSync(corpus).filter((x) => x.endsWith(".c"))) {
    const m = /modes:\s*([\d ]+)/.exec(readFileSync(join(corpus, f), "utf8").split("\n")[0]!);
    for (const mode of (m?.[1]?.trim().split(/\s+/).map(Number) ?? [32]) as (32 | 64)[]) {
      for (const extra of [["-O2"], ["-O0", "-g"], ["-Os", "-g"]]) inputs.push({ name: `${f} -m${mode} ${extra.join(" ")}`, text: cc(join(corpus, f), [`-m${mode}`, ...extra]), mode });
    }
  }
  const examples = join(root, "examples");
  for (const dir of readdirSync(examples, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(join(examples, dir.name)).filter((x) => x.endsWith(".c"))) {
      inputs.push({ name: `examples/${dir.name}/${f}`, text: cc(join(examples, dir.name, f), ["-m32", "-O2", "-g"]), mode: 32 });
    }
  }
  assert.ok(inputs.length >= 10, `only ${inputs.length} inputs`);
  let sites = 0;
  for (const { name, text, mode } of inputs) {
    assert.ok(same(text, name, mode), `${name}: gcc output should take the fast path`);
    sites += afterburn(text, { mode }).sites.length;
  }
  assert.ok(sites > 20, `the inputs hold sensitive instructions (${sites})`);
});
