import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyseC } from "../../../core/cinline/index.js";
import { parseAsm } from "../../../core/asm/parse.js";
import { findSites } from "../../../core/asm/sites.js";
import { MAX_MACRO_TOKENS } from "../../../core/cinline/macro-expansion.js";

/** gcc -S's sites (catalogue id, the C line of their #APP block) and each #APP block's text, or undefined when gcc cannot compile here. */
function gccTruth(t: TestContext, src: string, mode: 32 | 64): { sites: [string, number][]; blocks: string[] } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "cinline-fn-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "m.c"), src);
  const gcc = spawnSync("gcc", [`-m${mode}`, "-O0", "-S", "-o", "-", "m.c"], { cwd: dir, encoding: "utf8" });
  if (gcc.status !== 0) {
    t.skip(`gcc -m${mode} -S failed here: ${gcc.stderr}`);
    return undefined;
  }
  const file = parseAsm(gcc.stdout, { fileName: "m.s", mode });
  const markerLine = (line: number): number => {
    for (let i = line; i >= 0; i--) {
      const st = file.lines[i]!.statements[0];
      if (st?.kind === "preprocessor" && st.directive === "line-marker") return Number(st.args.split(/\s/)[0]);
    }
    return -1;
  };
  const blocks = [...gcc.stdout.matchAll(/^# \d+ "m\.c" 1\n\t([\s\S]*?)\n# 0 "" 2$/gm)].map((m) => m[1]!);
  return { sites: findSites(file).map((s) => [s.entry.id, markerLine(s.span.line)]), blocks };
}

// Kernel-style templates built with function-like macros (one asm statement a line: gcc's #APP marker is its line).
const KERNEL = [
  "#define __stringify_1(x...) #x",                                               // 1
  "#define __stringify(x...) __stringify_1(x)",                                   // 2
  "#define CR(n) \"mov %%cr\" #n \", %0\"",                                       // 3
  "#define _ASM_EXTABLE(from, to) \".pushsection __ex_table,\\\"a\\\"\\n .long \" #from \", \" #to \"\\n .popsection\\n\"", // 4
  "#define PASTE(a, b) a##b",                                                     // 5
  "#define INSN(op, args...) __stringify(op args) \"\\n\\t\"",                    // 6
  "#define IRQ_VECTOR 0x80",                                                      // 7
  "#define SYSCALL \"int $\" __stringify(IRQ_VECTOR)",                            // 8
  "#define ID(s) s",                                                              // 9
  "unsigned long a(void) { unsigned long v; asm volatile(CR(3) : \"=r\"(v)); return v; }",          // 10
  "void b(void) { asm volatile(\"int $\" __stringify(0x80)); }",                                     // 11
  "void c(void) { asm volatile(\"1: rdmsr\\n2:\\n\" _ASM_EXTABLE(1b, 2b) :: \"c\"(0) : \"eax\", \"edx\"); }", // 12
  "void d(void) { asm volatile(__stringify(PASTE(cl, i); PASTE(st, i))); }",                         // 13
  "void e(void) { asm volatile(INSN(hlt) INSN(wbinvd) INSN(mov, %eax, %cr0)); }",                    // 14
  "void f(void) { asm volatile(SYSCALL); asm volatile(ID(\"invd\") \"; nop\"); }",                  // 15
  "void g(unsigned long v) { asm volatile(\"nop\\n\\t\" CR(4) :: \"r\"(v)); asm volatile(\"nop\\n\\t\" __stringify(lidt 0x1000)); }", // 16
  "#define CLI \"cli\"",                                                         // 17
  "void h(void) { asm volatile(ID(CLI) \"; \" ID(\"sti\")); }",                   // 18: a string macro inside a call
  "",
].join("\n");

test("templates made with the file's function-like macros: the sites, by C line, are those of gcc -S -m32 and -m64", async (t) => {
  for (const mode of [32, 64] as const) {
    const truth = gccTruth(t, KERNEL, mode);
    if (truth === undefined) return;
    const r = await analyseC(KERNEL, { mode });
    assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), truth.sites, `-m${mode}`);
    assert.deepEqual(r.diagnostics, [], `-m${mode}`);
    // Templates without operands are what gcc writes between #APP and #NO_APP, character for character.
    const basic = r.statements.filter((s) => !s.extended).map((s) => s.text);
    assert.deepEqual(basic, truth.blocks.filter((b) => basic.includes(b)), `-m${mode}`);
    assert.equal(basic.length, 7);
  }
});

test("a site from a macro's own text covers the macro's name; from an argument, the argument's text", async () => {
  const r = await analyseC(KERNEL);
  const lines = KERNEL.split("\n");
  const covered = r.sites.map((s) => [s.entry.id, s.range.line + 1, lines[s.range.line]!.slice(s.range.start, s.range.end)]);
  assert.deepEqual(covered, [
    ["mov-from-cr3", 10, "CR"],
    ["int", 11, 'int $" __stringify(0x80'],
    ["rdmsr", 12, "rdmsr"],
    ["cli", 13, "cl, i"],
    ["sti", 13, "st, i"],
    ["hlt", 14, "hlt"],
    ["wbinvd", 14, "wbinvd"],
    ["mov-to-cr0", 14, "mov, %eax, %cr0"],
    ["int", 15, "SYSCALL"],
    ["invd", 15, '"invd'.slice(1)],
    ["mov-from-cr4", 16, "CR"],
    ["lidt", 16, "lidt 0x1000"],
    ["cli", 18, "CLI"],
    ["sti", 18, "sti"],
  ]);
});

test("a call over several lines: the sites keep their own lines, the statements after it theirs", async () => {
  const src = [
    "#define ID(x...) x",
    "void f(void) {",
    "  asm volatile(ID(\"nop\\n\\t\"",
    "                 \"cli\") \"\\n\\tsti\");",
    "  asm volatile(\"hlt\");",
    "}",
  ].join("\n");
  const r = await analyseC(src);
  const at = (line: number, word: string): [string, number, number] => [word, line, src.split("\n")[line - 1]!.indexOf(word)];
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1, s.range.start]), [at(4, "cli"), at(4, "sti"), at(5, "hlt")]);
  assert.deepEqual(r.diagnostics, []);
});

test("asm in a #define body: a call with constant arguments is expanded; one using the macro's parameters says it is not analysed", async () => {
  const src = [
    "#define CR(n) \"mov %%cr\" #n \", %0\"",                                          // 1
    "#define read_cr0() ({ unsigned long v; asm volatile(CR(0) : \"=r\"(v)); v; })",   // 2
    "#define read_cr(n) ({ unsigned long v; asm volatile(CR(n) : \"=r\"(v)); v; })",   // 3
    "#define SAVE_FLAGS(x) asm volatile(\"pushfl; popl %0\" : \"=r\"(x))",             // 4
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["mov-from-cr0", 2], ["pushf", 4]]);
  assert.deepEqual(r.diagnostics.map((d) => [d.range.line + 1, /not analysed/.test(d.message)]), [[3, true]]);
});

test("what cannot be expanded is not analysed, with the reason at the macro's name", async () => {
  const defines = [
    "#include <asm/irq_vectors.h>",
    "#define __stringify_1(x...) #x",
    "#define __stringify(x...) __stringify_1(x)",
    "#define P(a, b) a ## b",
    "#define B0 \"cli;\"",
    ...Array.from({ length: 16 }, (_, i) => `#define B${i + 1}(x) B${i}(x) B${i}(x)`.replace("B0(x)", "B0")),
  ];
  const cases = [
    // IRQ_VECTOR may be the header's; "int $" is known: its int site shows, as for any template with an unknown piece.
    ["void a(void) { asm volatile(\"int $\" __stringify(IRQ_VECTOR)); }", "__stringify", /IRQ_VECTOR may be a macro/, ["int"]],
    ["void b(void) { asm volatile(P(\"c\", \"li\")); }", "P", /pasting/, []],
    ["void c(void) { asm volatile(B16(0)); }", "B16", new RegExp(`over ${MAX_MACRO_TOKENS} tokens`), []],
    ["void d(void) { asm volatile(__stringify((hlt); }", "__stringify", /no closing parenthesis/, []],
  ] as const;
  for (const [code, name, why, ids] of cases) {
    const src = [...defines, "void e(void) { asm volatile(\"sti\"); }", code].join("\n");
    const r = await analyseC(src);
    const line = defines.length + 1;
    assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line]), [["sti", line - 1], ...ids.map((id) => [id, line])], code);
    const said = r.diagnostics.map((d) => [d.range.line, code.slice(d.range.start, d.range.end), d.message] as const);
    // Once: in the statement's note, or at the macro's name when tree-sitter made no statement of it.
    const notes = said.filter(([l, , m]) => l === line && /not analysed/.test(m));
    assert.equal(notes.length, 1, `${code}: ${JSON.stringify(said)}`);
    assert.match(notes[0]![2], why);
    assert.ok(notes[0]![1].startsWith("asm") || notes[0]![1] === name, `${code}: ${JSON.stringify(said)}`);
  }
});

test("a function-like macro defined after the template, or only in a branch the file drops, is not expanded there", async () => {
  const src = [
    "#if 0",
    "#define S(x) #x",
    "#endif",
    "void a(void) { asm volatile(S(cli)); }",
    "#define T(x) #x",
    "void b(void) { asm volatile(T(sti)); }",
    "void c(void) { asm volatile(U(hlt)); }",
    "#define U(x) #x",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["sti", 6]]);
  assert.deepEqual(r.diagnostics.filter((d) => /not analysed/.test(d.message)).map((d) => d.range.line + 1), [4, 7]);
});

test("garbage around macro calls in templates never throws", async () => {
  const pieces = ["#define F(x...) #x\n", "#define G(a,b) a##b\n", "asm(", "F(", "G(", ")", "\"", ",", ":", "\\\n", "#", "##", "x", " ", "\n", "/*", "*/", "volatile"];
  let seed = 7;
  for (let n = 0; n < 200; n++) {
    let text = "";
    for (let k = 0; k < 30; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      text += pieces[seed % pieces.length];
    }
    await analyseC(text);
  }
});
