import { test } from "node:test";
import assert from "node:assert/strict";
import { analyseC, mayContainAsm, substituteTemplate } from "../../../core/cinline/index.js";
import { cParserIfLoaded } from "../../../core/cinline/parser.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAsm } from "../../../core/asm/parse.js";
import { findSites } from "../../../core/asm/sites.js";

function sites(r: Awaited<ReturnType<typeof analyseC>>): [string, number, number, string][] {
  // 1-based line:column like a compiler message, the catalogue id and the instruction as the assembler sees it.
  return r.sites.map((s) => [s.entry.id, s.range.line + 1, s.range.start + 1, s.text]);
}

test("a C file without asm is not parsed at all", async () => {
  assert.equal(mayContainAsm("int main(void) { return cli(); } /* assembly */"), false);
  const r = await analyseC("int f(void) { return 1; }\n".repeat(1000));
  assert.deepEqual(r.statements, []);
  assert.deepEqual(r.sites, []);
  assert.equal(cParserIfLoaded(), undefined, "tree-sitter was not even loaded");
});

test("the word asm only in #include lines, comments or strings needs no parse; in code, in a macro body or after a comment, it does", () => {
  const plain = ["#include <asm/msr.h>", '# include "asm/page.h"', "/* the asm/page.h macros,", " * and asm helpers */", "// asm below? no", 'const char *s = "asm(\"cli\")";', "char c = '\\''; int asm_count;"].join("\n");
  assert.equal(mayContainAsm(plain), false);
  for (const code of ['void f(void) { asm("cli"); }', '#define irq_off() __asm__ __volatile__("cli")', '/* off */ __asm ("cli");', 'x = "/*"; asm("cli"); y = "*/";', "#include <asm/io.h>\nvoid g(void) { asm volatile(\"hlt\"); }"]) {
    assert.equal(mayContainAsm(`${plain}\n${code}\n`), true, code);
  }
});

test("concatenated multi-line templates: every instruction at its exact line and column", async () => {
  const src = [
    "unsigned long save_flags(void) {",            // 1
    "  unsigned long f;",                          // 2
    "  asm volatile(\"pushfl\\n\\t\"",             // 3
    "               \"popl %0\\n\\t\"",            // 4
    "               \"lgdt %1\" : \"=r\"(f) : \"m\"(f));", // 5
    "  return f;",
    "}",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(sites(r), [["pushf", 3, 17, "pushfl"], ["lgdt", 5, 17, "lgdt (%eax)"]]);
  assert.equal(r.statements[0].functionName, "save_flags");
  assert.equal(r.statements[0].text, "pushfl\n\tpopl %eax\n\tlgdt (%eax)");
});

test("GCC template syntax: %%cr3, %0, %[name], %w1, %l0, %= and dialect alternatives", async () => {
  const src = [
    "void a(unsigned v) { __asm__ __volatile__(\"movl %0, %%cr3\" :: \"r\"(v) : \"memory\"); }",
    "void b(unsigned char v, unsigned short port) { asm volatile(\"outb %b[val], %w[port]\" :: [val] \"a\"(v), [port] \"Nd\"(port)); }",
    "int c(void) { asm goto(\"jmp %l0\\n\\tcli\" :::: out); return 0; out: return 1; }",
    "void d(void) { asm(\"1%=: {sti|sti} ; jmp 1%=b\" ::); }",
    "void e(void) { asm(\"movl %cr0, %eax\"); }", // basic asm: % is literal
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(sites(r), [
    ["mov-to-cr3", 1, 44, "movl %eax, %cr3"],
    ["out-dx", 2, 62, "outb %al, %dx"],
    ["cli", 3, 36, "cli"],
    ["sti", 4, 27, "sti"],
    ["mov-from-cr0", 5, 21, "movl %cr0, %eax"],
  ]);
  assert.equal(r.statements[2].goto, true);
  assert.equal(r.statements[2].text, "jmp .Lout\n\tcli");
});

test("port I/O helpers without width modifiers: the port is %dx and the data register as wide as the suffix, as GCC prints them", async () => {
  const src = [
    "static inline unsigned char inb(unsigned short port) { unsigned char r; asm volatile(\"inb %1, %0\" : \"=a\"(r) : \"Nd\"(port)); return r; }",
    "static inline void outw(unsigned short v, unsigned short port) { asm volatile(\"outw %0, %1\" :: \"a\"(v), \"Nd\"(port)); }",
    "static inline unsigned inl(unsigned short port) { unsigned r; asm volatile(\"inl %w1, %0\" : \"=a\"(r) : \"d\"(port)); return r; }",
    "static inline void outsb(const void *p, unsigned n, unsigned short port) { asm volatile(\"rep; outsb\" : \"+S\"(p), \"+c\"(n) : \"d\"(port)); }",
    "static inline void io_delay(void) { asm volatile(\"outb %%al, %0\" :: \"dN\"((unsigned short)0x80)); }",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(sites(r).map(([id, line, , text]) => [id, line, text]), [
    ["in-dx", 1, "inb %dx, %al"],
    ["out-dx", 2, "outw %ax, %dx"],
    ["in-dx", 3, "inl %dx, %eax"],
    ["outs", 4, "rep; outsb"],
    ["out-dx", 5, "outb %al, %dx"],
  ]);
});

test("a backslash-newline inside a template's literal splices the lines, as C does", async () => {
  // gcc sees "nop\tcli" (one line: no cli instruction) and "nop; cli; nop".
  const r = await analyseC('void f(void) { asm("nop\\\n\tcli"); }\nvoid g(void) { asm("nop; cl\\\ni; nop"); }\n');
  assert.deepEqual(r.statements.map((s) => s.text), ["nop\tcli", "nop; cli; nop"]);
  assert.deepEqual(sites(r), [["cli", 3, 26, "cli"]]);
});

test("asm in a branch the preprocessor surely drops has no sites; branches the file cannot settle stay analysed", async () => {
  const src = [
    "#define FOO 1",                                 // 1
    "#if 0",                                         // 2
    "void a(void) { asm(\"cli\"); }",              // 3: dropped
    "#elif defined(FOO) && !BAR",                    // 4: BAR comes from elsewhere: unknown
    "void b(void) { asm(\"sti\"); }",              // 5
    "#else",
    "void c(void) { asm(\"hlt\"); }",              // 7: the #elif may fail
    "#endif",
    "void d(void) {",
    "#ifdef __x86_64__",
    " asm(\"pushfq\");",                           // 11: 64-bit only
    "#else",
    " asm(\"pushfl\");",                           // 13: 32-bit only
    "#endif",
    "#ifndef FOO",
    " asm(\"invd\");",                             // 16: FOO is defined here
    "#endif",
    "#if defined(CONFIG_X) || 1",
    " asm(\"wbinvd\");",                           // 19
    "#endif",
    "#if CONFIG_Y",
    " asm(\"clts\");",                             // 22: unknown
    "#endif",
    "}",
    "#if 0",
    "#define OFF() asm volatile(\"lgdt (%eax)\")", // 26: a macro in a dropped branch
    "#endif",
  ].join("\n");
  const at = async (mode: 32 | 64) => (await analyseC(src, { mode })).sites.map((s) => `${s.entry.id}@${s.range.line + 1}`);
  assert.deepEqual(await at(32), ["sti@5", "hlt@7", "pushf@13", "wbinvd@19", "clts@22"]);
  assert.deepEqual(await at(64), ["sti@5", "hlt@7", "pushf@11", "wbinvd@19", "clts@22"]);
});

test("a site ending in an operand reference ends where the reference does (the inlay hint goes after it)", async () => {
  const line0 = 'void f(unsigned char v, unsigned short p, unsigned x) { asm volatile("outb %b0, %w1" :: "a"(v), "Nd"(p)); asm volatile("mov %%cr0, %0" : "=r"(x)); asm("movl %[x], %%cr3" :: [x] "r"(x)); }';
  const r = await analyseC(line0);
  const text = (i: number) => line0.slice(r.sites[i]!.range.start, r.sites[i]!.range.end);
  assert.deepEqual([0, 1, 2].map(text), ["outb %b0, %w1", "mov %%cr0, %0", "movl %[x], %%cr3"]);
});

test("each assembly line is owned by the C line of its first instruction character, not of a tab ending the literal before", async () => {
  const src = ["void f(void) {", '  asm volatile("nop\\n\\t"', '               "cli\\n\\t"', '               "sti");', "}"].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.assembly.split("\n"), ["nop", "\tcli", "\tsti"]);
  assert.deepEqual(r.assemblyLines, [1, 2, 3]);
});

test("a lone \\r in a template breaks the line as the assembler does, and later statements keep their lines", async () => {
  const r = await analyseC('void f(void) {\n  asm("nop\\rhlt");\n  asm("sti");\n}\n');
  assert.deepEqual(sites(r), [["hlt", 2, 13, "hlt"], ["sti", 3, 8, "sti"]]);
});

test("an asm label naming a declaration's symbol is no template: no sites from it", async () => {
  const src = [
    "extern unsigned long long rdtsc(void) __asm__(\"rdtsc\");",
    "extern void h(void) __asm__(\"hlt\");",
    "int wbinvd asm(\"wbinvd\") = 0;",
    "static int counter __asm__(\"cli\");",
    "void f(void) { asm volatile(\"sti\"); }",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(sites(r).map(([id, line]) => [id, line]), [["sti", 5]]);
});

test("asm inside #define bodies (multi-line with continuations) maps back into the macro", async () => {
  const src = [
    "#define local_irq_disable() asm volatile(\"cli\" ::: \"memory\")", // 1
    "#define load_cr3(x) \\",                                          // 2
    "  __asm__ __volatile__(\"movl %0, %%cr3\" \\",                     // 3
    "     :: \"r\"(x) : \"memory\")",                                   // 4
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(sites(r), [["cli", 1, 43, "cli"], ["mov-to-cr3", 3, 25, "movl %eax, %cr3"]]);
  assert.deepEqual(r.statements.map((s) => s.macro), ["local_irq_disable", "load_cr3"]);
});

test("non-ASCII text before a site keeps UTF-16 columns", async () => {
  const r = await analyseC("/* é — 😀 */ void f(void) { asm(\"hlt\"); }");
  const s = r.sites[0];
  assert.equal(s.entry.id, "hlt");
  assert.equal("/* é — 😀 */ void f(void) { asm(\"hlt\"); }".indexOf("hlt"), s.range.start);
});

test("a template with a call of a macro the file does not define is reported as unparsed, not misread; one it defines is expanded", async () => {
  const r = await analyseC("void f(void) { asm(\"mov %0, %%cr\" STR(3) :: \"r\"(0)); }\n");
  assert.ok(r.diagnostics.some((d) => /not analysed/.test(d.message)), JSON.stringify(r.diagnostics));
  const defined = await analyseC("#define STR(x) #x\nvoid f(void) { asm(\"mov %0, %%cr\" STR(3) :: \"r\"(0)); }\n");
  assert.deepEqual(defined.diagnostics, []);
  assert.deepEqual(defined.sites.map((s) => [s.entry.id, s.range.line, s.text]), [["mov-to-cr3", 1, "mov %eax, %cr3"]]);
});

test("a template made of string macros the file defines is read with their text; each site covers the macro's name", async () => {
  const src = [
    "#define CLI \"cli\"",                                                        // 1
    "#define STI_HLT \"sti\\n\\t\" /* wake */ \"\" \\",                     // 2: tree-sitter-c alone cuts the value at the comment
    "        \"hlt\"",                                                            // 3
    "#define FLAGS_OFF \"pushfl\\n\\t\" CLI",                                  // 4
    "void a(void) { asm volatile(CLI); }",                                        // 5: tree-sitter makes an ERROR of this
    "void b(void) { __asm__ __volatile__(STI_HLT ::: \"memory\"); }",             // 6
    "void c(void) { asm(\"nop; \" CLI \"; nop\"); }",                            // 7
    "void d(void) { asm volatile(FLAGS_OFF); }",                                  // 8
    "#define irq_off() asm volatile(CLI ::: \"memory\")",                       // 9
  ].join("\n");
  const r = await analyseC(src);
  const covered = r.sites.map((s) => [s.entry.id, s.range.line + 1, src.split("\n")[s.range.line]!.slice(s.range.start, s.range.end)]);
  assert.deepEqual(covered, [
    ["cli", 5, "CLI"],
    ["sti", 6, "STI_HLT"],
    ["hlt", 6, "STI_HLT"],
    ["cli", 7, "CLI"],
    ["pushf", 8, "FLAGS_OFF"],
    ["cli", 8, "FLAGS_OFF"],
    ["cli", 9, "CLI"],
  ]);
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.statements[2]!.text, "nop; cli; nop");
  // The noannotate code action writes inside the first and last literals: none here begins with one.
  assert.equal(r.statements[0]!.templateStart, undefined);
});

test("string-macro templates: the sites, by C line, are those of gcc -S's own output", async (t) => {
  const src = [
    "#define CLI \"cli\"",
    "#define STI \"sti\" /* enable */ \"\"",
    "#define OFF_ON CLI \"\\n\\t\" STI",
    "#define irq_off() asm volatile(CLI ::: \"memory\")",
    "void a(void) { asm volatile(CLI); }",
    "void b(void) { __asm__ __volatile__(OFF_ON ::: \"memory\"); }",
    "void c(void) { asm(\"nop; \" STI \"; nop\"); }",
    "void d(void) { irq_off(); }",
    "#define H \"hlt\"",
    "void e(void) { asm volatile(H); asm(\"nop;\" H); }",
    "",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "cinline-gcc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "m.c"), src);
  const gcc = spawnSync("gcc", ["-m32", "-O0", "-S", "-o", "-", "m.c"], { cwd: dir, encoding: "utf8" });
  if (gcc.status !== 0) return t.skip(`gcc -m32 -S failed here: ${gcc.stderr}`);
  const file = parseAsm(gcc.stdout, { fileName: "m.s" });
  // An asm statement's line is its #APP block's line marker (the assembler counts on from there per template line).
  const markerLine = (line: number): number | undefined => {
    for (let i = line; i >= 0; i--) {
      const st = file.lines[i]!.statements[0];
      if (st?.kind === "preprocessor" && st.directive === "line-marker") return Number(st.args.split(/\s/)[0]);
    }
    return undefined;
  };
  const truth = findSites(file).map((s) => [s.entry.id, markerLine(s.span.line)]);
  const ours = (await analyseC(src)).sites.filter((s) => s.range.line !== 3).map((s): [string, number] => [s.entry.id, s.range.line + 1]);
  // The #define body's own site (line 4) shows at the use in gcc's output: line 8.
  assert.deepEqual(truth, [...ours.filter(([, line]) => line < 8), ["cli", 8], ...ours.filter(([, line]) => line > 8)]);
});

test("a string macro the file does not settle (defined twice, #undef'd, not a string, not defined here) leaves the template unanalysed, and says so", async () => {
  const src = [
    "#ifdef CONFIG_A",
    "#define OP \"cli\"",
    "#else",
    "#define OP \"sti\"",
    "#endif",
    "#define NUM 3",
    "#define GONE \"hlt\"",
    "#undef GONE",
    "#define TWICE \"sti;\"",
    "#define TWICE \"hlt;\"",
    "void a(void) { asm(\"nop;\" OP); }",
    "void b(void) { asm(\"nop;\" NUM); }",
    "void c(void) { asm(\"nop;\" GONE); }",
    "void d(void) { asm(\"nop;\" TWICE); }",
    "void e(void) { asm volatile(FROM_A_HEADER); }", // tree-sitter makes an ERROR of this: it was silently skipped
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites, []);
  assert.deepEqual(r.diagnostics.filter((d) => /not analysed/.test(d.message)).map((d) => d.range.line + 1), [11, 12, 13, 14, 15], JSON.stringify(r.diagnostics));
});

test("noannotate in one asm statement stays in force for later ones (as in gcc -S output)", async () => {
  const src = "void f(void) {\n asm(\".afterburn_noannotate\");\n asm(\"cli\");\n asm(\".afterburn_annotate\");\n asm(\"sti\");\n}\n";
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.annotated]), [["cli", false], ["sti", true]]);
});

test("substituteTemplate keeps a map from every output character to its template character", () => {
  const t = "mov %[v], %%cr%=";
  const s = substituteTemplate(t, [{ name: "v", constraint: "r" }], []);
  assert.equal(s.text, "mov %eax, %cr0");
  assert.equal(s.map.length, s.text.length + 1);
  assert.equal(t[s.map[s.text.indexOf("%cr")]], "%");
  assert.equal(s.map[0], 0);
  assert.equal(s.map[s.text.indexOf("%eax")], t.indexOf("%[v]"));
  // ...and where that character's template element ends: past the whole reference for its substitute.
  assert.equal(s.ends.length, s.map.length);
  assert.equal(s.ends[s.text.indexOf("%eax") + 3], t.indexOf("%[v]") + "%[v]".length);
  assert.equal(s.ends[s.text.length - 1], t.length, "%= ends the template");
  assert.equal(s.ends[0], 1);
});

test("string macros with one-character names are pasted too; later columns on the line stay put", async () => {
  const src = [
    "#define C \"cli\"",                                                  // 1
    "#define S \"sti\"",                                                  // 2
    "void a(void) { asm volatile(C); asm(\"hlt\"); }",                    // 3
    "void b(void) { asm(\"nop;\" S \"; nop\"); asm(\"invd\"); }",         // 4
    "#define off() asm volatile(C ::: \"memory\"); asm(\"wbinvd\")",     // 5
  ].join("\n");
  const r = await analyseC(src);
  const covered = r.sites.map((s) => [s.entry.id, s.range.line + 1, src.split("\n")[s.range.line]!.slice(s.range.start, s.range.end)]);
  assert.deepEqual(covered, [
    ["cli", 3, "C"],
    ["hlt", 3, "hlt"],
    ["sti", 4, "S"],
    ["invd", 4, "invd"],
    ["cli", 5, "C"],
    ["wbinvd", 5, "wbinvd"],
  ]);
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.statements[2]!.text, "nop;sti; nop");
  // The statements' ranges are the file's: the second asm on line 3 starts at its own column.
  assert.equal(r.statements[1]!.range.start, src.split("\n")[2]!.indexOf('asm("hlt")'));
  assert.equal(r.statements[1]!.templateStart?.column, src.split("\n")[2]!.indexOf("hlt"));
});

test(".afterburn_noannotate/.afterburn_annotate in #define bodies apply where the macro is used, not where it is defined", async () => {
  const src = [
    "#define NOANN() asm volatile(\".afterburn_noannotate\")", // 1
    "#define ANN() asm volatile(\".afterburn_annotate\")",     // 2
    "#define IRQ_OFF asm volatile(\"cli\")",                    // 3: used at 9 only, inside the region
    "#define QUIET() do { NOANN(); } while (0)",               // 4: no asm of its own, uses one that has
    "#define UNUSED() asm(\".afterburn_noannotate\")",         // 5: never used: gcc emits nothing for it
    "#define WAKE asm(\"sti\")",                                // 6: used both inside and outside the region
    "void f(void) {",
    "  QUIET();",                                               // 8
    "  IRQ_OFF;",                                               // 9
    "  asm(\"hlt\");",                                          // 10
    "  WAKE;",                                                  // 11
    "  ANN();",                                                 // 12
    "  WAKE;",                                                  // 13
    "  asm(\"invd\");",                                         // 14
    "}",
    "#if 0",
    "void g(void) { NOANN(); }",                                // 17: dropped
    "#endif",
    "void h(void) { asm(\"wbinvd\"); }",                        // 19
    "",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1, s.annotated]), [
    ["cli", 3, false],
    ["sti", 6, true],
    ["hlt", 10, false],
    ["invd", 14, true],
    ["wbinvd", 19, true],
  ]);
});

test("a .afterburn_noannotate region open in file order does not reach a macro used after it ends", async () => {
  const src = [
    "void f(void) { asm(\".afterburn_noannotate\"); }",
    "#define OFF() asm(\"cli\")",
    "void g(void) { asm(\".afterburn_annotate\"); OFF(); }",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.annotated]), [["cli", true]]);
});

test("the templates are read in the order gcc -S emits them: its sites, annotated or not, in its order", async (t) => {
  const src = [
    "#define NOANN() asm volatile(\".afterburn_noannotate\")",
    "#define ANN() asm volatile(\".afterburn_annotate\")",
    "#define IRQ_OFF asm volatile(\"cli\")",
    "#define QUIET() do { NOANN(); IRQ_OFF; } while (0)",
    "#define UNUSED() asm(\".afterburn_noannotate\")",
    "void f(void) { asm(\"hlt\"); QUIET(); asm(\"sti\"); IRQ_OFF; ANN(); IRQ_OFF; asm(\"invd\"); }",
    "void g(void) { IRQ_OFF; asm(\"wbinvd\"); }",
    "",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "cinline-gcc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "m.c"), src);
  for (const mode of [32, 64] as const) {
    const gcc = spawnSync("gcc", [`-m${mode}`, "-O0", "-S", "-o", "-", "m.c"], { cwd: dir, encoding: "utf8" });
    if (gcc.status !== 0) return t.skip(`gcc -m${mode} -S failed here: ${gcc.stderr}`);
    const truth = findSites(parseAsm(gcc.stdout, { fileName: "m.s", mode })).map((s) => [s.entry.id, s.annotated]);
    const r = await analyseC(src, { mode });
    const emitted = findSites(parseAsm(r.assembly, { fileName: "inline.s", mode })).map((s) => [s.entry.id, s.annotated]);
    assert.deepEqual(emitted, truth, `-m${mode}`);
    assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1, s.annotated]), [["cli", 3, true], ["hlt", 6, true], ["sti", 6, false], ["invd", 6, true], ["wbinvd", 7, true]]);
  }
});

test("macro uses that multiply past the expansion limit, or name the macro itself, stop with a note; every site is still found", async () => {
  const src = [
    "#define B0 asm(\"cli\");",
    ...Array.from({ length: 30 }, (_, i) => `#define B${i + 1} B${i} B${i}`), // 2^30 statements
    "#define R() do { R(); asm(\"sti\"); } while (0)",                       // 32: cpp does not expand R inside R
    "void f(void) { R(); B30; R(); asm(\"hlt\"); }",                          // 33
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["cli", 1], ["sti", 32], ["hlt", 33]]);
  const line = src.split("\n")[32]!;
  assert.deepEqual(r.diagnostics.map((d) => [d.range.line + 1, line.slice(d.range.start, d.range.end), d.severity]), [[33, "B30", "info"]]);
  assert.ok(r.assembly.split("\n").length < 6000);
});

test("%z prints an operand's size suffix and %a an operand as an address, as GCC does: no junk after the mnemonic", async () => {
  const src = [
    "void a(unsigned long v) { asm volatile(\"push%z0 %0\\n\\tpopf%z0\" :: \"r\"(v)); }",
    "void b(void *p) { asm volatile(\"invlpg %a0\" :: \"r\"(p) : \"memory\"); }",
    "void c(void) { asm volatile(\"lidt %a0\" :: \"i\"(0x1000)); }",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.statements.map((s) => s.text), ["pushl %eax\n\tpopfl", "invlpg (%eax)", "lidt 0"]);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(sites(r).map(([id, line]) => [id, line]), [["popf", 1], ["invlpg", 2], ["lidt", 3]]);
});

test("a #define body template with #param stringification is unanalysed, says so, and its known text gives sites but no assembler warnings", async () => {
  const src = [
    "#define LOAD(n, v) asm volatile(\"mov %0, %%cr\" #n :: \"r\"(v))",
    "#define CLI_THEN(x) asm volatile(\"cli; \" #x)",
    "void f(unsigned long v) { LOAD(4, v); CLI_THEN(nop); }",
    "void g(void) { asm volatile(\"int $\" VECTOR_FROM_A_HEADER); }", // "int $" and the unknown rest: an int, no warning about "$"
  ].join("\n");
  const r = await analyseC(src);
  // "mov %eax, %cr" was read as the whole template: an unknown register warning, a site lost unsaid.
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["cli", 2], ["int", 4]]);
  assert.deepEqual(r.diagnostics.map((d) => [d.range.line + 1, d.severity, /not analysed.*#x/.test(d.message)]), [[1, "info", true], [2, "info", true], [4, "info", false]]);
});

test("a header's include guard is no branch the file drops: its asm is analysed, as gcc compiles it where included", async (t) => {
  const header = [
    "#ifndef IRQ_H",                                                                 // 1: IRQ_H is defined below, not yet here
    "#define IRQ_H",
    "static inline void irq_off(void) { asm volatile(\"cli\" ::: \"memory\"); }",    // 3
    "#ifndef IRQ_H",                                                                 // 4: defined above: dropped
    "static inline void never(void) { asm volatile(\"hlt\"); }",
    "#endif",
    "#if !defined(LATER)",                                                           // 7: LATER is defined after: unknown here
    "static inline void wake(void) { asm volatile(\"sti\"); }",                       // 8
    "#endif",
    "#define LATER",
    "#endif",
    "",
  ].join("\n");
  const r = await analyseC(header);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["cli", 3], ["sti", 8]]);
  const dir = mkdtempSync(join(tmpdir(), "cinline-gcc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "irq.h"), header);
  writeFileSync(join(dir, "m.c"), '#include "irq.h"\n#include "irq.h"\nvoid f(void) { irq_off(); wake(); }\n');
  const gcc = spawnSync("gcc", ["-m32", "-O0", "-S", "-o", "-", "m.c"], { cwd: dir, encoding: "utf8" });
  if (gcc.status !== 0) return t.skip(`gcc -m32 -S failed here: ${gcc.stderr}`);
  const markers = [...gcc.stdout.matchAll(/^# (\d+) "irq\.h" 1\n\t(\w+)/gm)].map((m) => [m[2], Number(m[1])]);
  assert.deepEqual(markers, [["cli", 3], ["sti", 8]]);
});

test("a macro used twice gives its sites once; a .rept in it gives all of its own", async () => {
  const src = ["#define THREE() asm volatile(\".rept 3\\n\\tcli\\n.endr\")", "void f(void) { THREE(); THREE(); }"].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line + 1]), [["cli", 1], ["cli", 1], ["cli", 1]]);
  assert.equal(r.assembly.split("\n").filter((l) => l.trim() === "cli").length, 2, "the template is emitted at each use");
});

test("a macro call between the template's strings is no template: the string after it is not read as the whole template", async () => {
  // PICK is not defined here: with flag outputs it keeps its first argument, so the assembler may see no sbbl at all.
  const src = [
    "int f(int nr, int *p)",
    "{",
    "    int old;",
    '    asm volatile ( "btsl %[nr], %[mem]\\n\\t"',
    '                   PICK(, "sbbl %[old], %[old]\\n\\t")',
    '                   : [old] PICK("=@ccc", "=r") (old), [mem] "+m" (*p) : [nr] "Ir" (nr) );',
    "    return old;",
    "}",
    "",
  ].join("\n");
  const r = await analyseC(src);
  assert.deepEqual(sites(r), []);
  assert.deepEqual(r.diagnostics.map((d) => [d.range.line, d.severity, d.message.replace(/:.*/, "")]), [[3, "info", "asm statement not analysed"]]);
  // Recovering from that statement, tree-sitter can swallow the next one: it is said, not silently lost.
  const next = await analyseC(src.replace("    return old;", '    asm volatile ( "cli\\n\\t" PICK(, "sti") );\n    asm volatile ( "hlt" );\n    return old;'));
  assert.deepEqual(sites(next).map((s) => [s[0], s[1]]), [["hlt", 8]]);
  assert.deepEqual(next.diagnostics.map((d) => [d.range.line, d.severity, d.message.replace(/:.*/, "")]), [
    [3, "info", "asm statement not analysed"],
    [6, "info", "asm statement not analysed"],
  ]);
  // Not `sti` alone either: the template may be just `cli`.
  const alone = await analyseC(['void g(void)', "{", '    asm volatile ( "cli\\n\\t" PICK(, "sti") );', "}", ""].join("\n"));
  assert.deepEqual(sites(alone), []);
  assert.deepEqual(alone.diagnostics.map((d) => [d.range.line, d.severity, d.message.replace(/:.*/, "")]), [[2, "info", "asm statement not analysed"]]);
});

test("an instruction written as .byte data in a template is a site, not annotated, as afterburn-cc reports it", async () => {
  const r = await analyseC(['void off(void) { asm volatile(".byte 0xfa\\n\\tnop"); }', 'unsigned long cr3(void) { unsigned long v; asm(".byte 0x0f, 0x20, 0xd8" : "=a"(v)); return v; }', 'void data(void) { asm(".pushsection .rodata\\n\\t.byte 0xfa\\n\\t.popsection"); }'].join("\n"));
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line, s.range.start, s.annotated, s.encoded]), [["cli", 0, 31, false, true], ["mov-from-cr3", 1, 48, false, true]]);
  assert.match(r.sites[1]!.reason!, /^written as data: \.byte 0x0f, 0x20, 0xd8 encodes 'mov %cr3,%eax' \(mov-from-cr3\)/);
});

test("asm under another system's or architecture's macro (#ifdef _WIN32, __aarch64__) is not compiled for an x86 ELF target: no sites", async () => {
  const r = await analyseC(["#ifdef _WIN32", 'void a(void) { asm("cli"); }', "#elif defined(__aarch64__)", 'void a(void) { asm("msr daifset, #2"); }', "#else", 'void a(void) { asm("sti"); }', "#endif"].join("\n"));
  assert.deepEqual(r.sites.map((s) => [s.entry.id, s.range.line]), [["sti", 5]]);
});
