import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_EXPANDED_LINES, parseAsm, resolveLocalLabel } from "../../../core/asm/index.js";
import type { AsmFile, ExpandedStatement, InstructionStatement } from "../../../core/asm/index.js";

function ins(f: AsmFile): (ExpandedStatement & { statement: InstructionStatement })[] {
  return f.statements.filter((s): s is ExpandedStatement & { statement: InstructionStatement } => s.statement.kind === "instruction");
}
function texts(f: AsmFile): string[] {
  return ins(f).map((s) => s.statement.text);
}
function src(...lines: string[]): string {
  return lines.join("\n");
}

test("macro: parameters, defaults, :req, \\() and \\@, mapped to invocation and body line", () => {
  const f = parseAsm(src(
    ".macro SAVE reg, n=4, dst:req",  // 0
    "  pushl %\\reg",                   // 1
    "lbl\\@: movl $\\n, \\dst",          // 2
    "  mov\\()l %\\reg, %\\reg",        // 3
    ".endm",                            // 4
    "  SAVE eax, , %ebx",               // 5
    "  save ecx 1 %edx",                // 6  (space-separated, case-insensitive name)
    "  SAVE dst=%esi, reg=edi",         // 7  (keyword arguments)
  ));
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(texts(f), [
    "pushl %eax", "movl $4, %ebx", "movl %eax, %eax",
    "pushl %ecx", "movl $1, %edx", "movl %ecx, %ecx",
    "pushl %edi", "movl $4, %esi", "movl %edi, %edi",
  ]);
  const all = ins(f);
  assert.deepEqual(all.map((s) => s.line), [5, 5, 5, 6, 6, 6, 7, 7, 7]);
  assert.deepEqual(all.map((s) => s.expansion?.bodyLine), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
  const e = all[1];
  assert.equal(e.expansion?.kind, "macro");
  assert.equal(e.expansion?.name, "save");
  assert.deepEqual(e.expansion?.site, { line: 5, start: 2, end: 18 });
  // Spans index into the expanded text.
  assert.equal(e.text, "lbl0: movl $4, %ebx");
  assert.equal(e.text!.slice(e.statement.span.start, e.statement.span.end), "movl $4, %ebx");
  assert.deepEqual([...f.labels.keys()].filter((k) => k.startsWith("lbl")), ["lbl0", "lbl1", "lbl2"]);
  assert.equal(f.macros.get("save")?.params.map((p) => `${p.name}:${p.defaultValue ?? ""}:${p.required}`).join(" "), "reg:: n:4:false dst::true".replace("reg:: ", "reg::false "));
});

test("macro: missing required argument, too many arguments, vararg, .exitm, .purgem", () => {
  const f = parseAsm(src(
    ".macro M a:req",   // 0
    "  inc \\a",        // 1
    ".endm",            // 2
    "  M",              // 3
    "  M %eax, %ebx",   // 4
    ".macro V first, rest:vararg", // 5
    "  .long \\rest",   // 6
    "  .exitm",         // 7
    "  hlt",            // 8
    ".endm",            // 9
    "  V 1, 2, 3",      // 10
    ".purgem M",        // 11
    "  M %ecx",         // 12 (now an ordinary instruction word)
  ));
  const msgs = f.diagnostics.map((d) => `${d.span.line}:${d.message}`);
  assert.ok(msgs.some((m) => m.startsWith("3:missing value for required parameter 'a'")), msgs.join("\n"));
  assert.ok(msgs.some((m) => m.startsWith("4:too many arguments")), msgs.join("\n"));
  const longs = f.statements.filter((s) => s.statement.kind === "directive" && s.statement.name === ".long");
  assert.equal(longs.length, 1);
  assert.ok(longs[0].statement.kind === "directive" && longs[0].statement.args === "2, 3");
  assert.ok(!texts(f).includes("hlt"));
  assert.equal(texts(f).at(-1), "M %ecx");
  assert.equal(f.macros.has("m"), false);
});

test("nested macros and recursion limits produce diagnostics, not hangs", () => {
  const f = parseAsm(src(
    ".macro inner x", "  cli", "  movl \\x, %eax", ".endm",
    ".macro outer y", "  inner \\y", "  sti", ".endm",
    "  outer $5",
  ));
  assert.deepEqual(texts(f), ["cli", "movl $5, %eax", "sti"]);
  const mov = ins(f)[1];
  assert.equal(mov.line, 8);
  assert.equal(mov.expansion?.name, "inner");
  assert.equal(mov.expansion?.site.line, 5);
  assert.equal(mov.expansion?.parent?.name, "outer");
  assert.equal(mov.expansion?.parent?.site.line, 8);

  const r = parseAsm(src(".macro loop", "  nop", "  loop", ".endm", "  loop"));
  assert.ok(r.diagnostics.some((d) => /nested too deeply/.test(d.message) && d.span.line === 4));
  const big = parseAsm(src(".rept 100000", ".rept 100000", "nop", ".endr", ".endr"));
  assert.ok(big.diagnostics.some((d) => /expansion limit/.test(d.message)));
  // An empty body costs its iterations too (a billion of them once made a billion closures and crashed).
  const empty = parseAsm(src(".rept 1000000000", ".endr", "\tcli"));
  assert.ok(empty.diagnostics.some((d) => /expansion limit/.test(d.message) && d.span.line === 0));
  assert.ok(empty.statements.some((es) => es.statement.kind === "instruction" && es.statement.mnemonic === "cli"));
  // Long lines and many statements count, not just lines: a few kilobytes cannot expand to gigabytes.
  const wide = parseAsm(src(".macro M", `\t${"nop; ".repeat(500)} # \\@`, ".endm", ".rept 8000", "\tM", ".endr"));
  assert.ok(wide.diagnostics.some((d) => /expansion limit/.test(d.message)));
  assert.ok(wide.statements.length <= MAX_EXPANDED_LINES, `${wide.statements.length} statements`);
});

test(".rept, .irp, .irpc with nesting, and conditionals inside macros", () => {
  const f = parseAsm(src(
    ".rept 3", "  nop", ".endr",                     // 0-2
    ".irp r, eax, ebx", "  pushl %\\r", ".endr",    // 3-5
    ".irpc c, 12", "  .byte \\c", ".endr",          // 6-8
    ".rept 2", ".irp s, a, b", "  incl \\s", ".endr", ".endr", // 9-13
    ".macro sel reg", ".ifc \\reg,eax", "  cli", ".else", "  sti", ".endif", ".endm", // 14-20
    "  sel eax", "  sel ebx",                      // 21-22
    ".if 0", "  hlt", ".elseif 1", "  clts", ".endif",   // 23-27
  ));
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(texts(f), ["nop", "nop", "nop", "pushl %eax", "pushl %ebx", "incl a", "incl b", "incl a", "incl b", "cli", "sti", "clts"]);
  const nop = ins(f)[0];
  assert.deepEqual([nop.line, nop.expansion?.kind, nop.expansion?.bodyLine, nop.text], [0, "rept", 1, undefined]);
  const bytes = f.statements.filter((s) => s.statement.kind === "directive" && s.statement.name === ".byte").map((s) => s.statement.kind === "directive" && s.statement.args);
  assert.deepEqual(bytes, ["1", "2"]);
  const inner = ins(f)[5];
  assert.equal(inner.expansion?.kind, "irp");
  assert.equal(inner.expansion?.parent?.kind, "rept");
  assert.equal(inner.line, 9);
  assert.ok(f.lines[24].skipped);
});

test("a conditional sharing a line with other statements is read left to right, as gas reads it", () => {
  const f = parseAsm(src(
    "a: cli; .ifndef once; once:; .endif; b: sti",    // 0: all assembled, each label once
    "hlt; .if 0; clts; .endif",                       // 1: before the false branch counts, inside it not
    ".if 0; invd; .else; wbinvd; .endif; lgdt (%eax)", // 2
    ".macro m x", ".ifc \\x,stop; .exitm; .endif", "  rdmsr", ".endm", // 3-6: .exitm only when true
    "  m stop", "  m go",                             // 7-8
    ".equ R, 14",                                     // 9: the skipped branch's bad register is never read
    ".if R >= 8; movq $1, %r14; .else; movl $1, %e14; .endif; orq %rsp, %r14",
  ));
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(texts(f), ["cli", "sti", "hlt", "wbinvd", "lgdt (%eax)", "rdmsr", "movq $1, %r14", "orq %rsp, %r14"]);
  assert.deepEqual(["a", "once", "b"].map((l) => f.labels.get(l)?.length), [1, 1, 1]);
  assert.ok(!f.lines[1].skipped, "a line that is partly assembled is not skipped");
});

test("a macro of the indirect-call kind: a '$'-named symbol set in it, .exitm from a conditional inside its .irp", () => {
  const f = parseAsm(src(
    ".macro ICALL arg:req",
    "  $found = 0",
    "  .irp r, ax, cx",
    "  .ifeqs \"\\arg\", \"%r\\r\"",
    "    call thunk_\\r",
    "    $found = 1",
    "    .exitm",
    "  .endif",
    "  .endr",
    ".endm",
    "  ICALL %rcx",
    "  cli",
  ));
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(texts(f), ["call thunk_cx", "cli"]);
  assert.ok(f.symbols.has("$found"));
});

test("a non-constant .if analyses both branches; .rept with an unknown count is analysed once", () => {
  const f = parseAsm(src(".if EXTERNAL", "  cli", ".else", "  sti", ".endif", ".rept N", "  hlt", ".endr"));
  assert.deepEqual(texts(f), ["cli", "sti", "hlt"]);
  assert.ok(f.diagnostics.some((d) => /not a constant/.test(d.message) && d.severity === "error" && d.span.line === 5));
});

test("structure errors: .endm/.endr without opener, missing .endm/.endr/.endif, unterminated comment", () => {
  const cases: [string, number, RegExp][] = [
    [src("nop", ".endm"), 1, /\.endm without \.macro/],
    [src(".endr"), 0, /\.endr without/],
    [src(".macro m", "nop"), 0, /missing \.endm/],
    [src(".rept 2", "nop"), 0, /missing \.endr/],
    [src(".if 1", "nop"), 0, /missing \.endif/],
    [src("nop", "cli /* never", "closed"), 1, /unterminated comment/],
    [src(".else"), 0, /\.else without \.if/],
    [src(".popsection"), 0, /\.popsection without/],
    [src("foo: nop", "foo: nop"), 1, /already defined/],
    [src("#if 1", "nop"), 0, /missing #endif/],
    [src("#endif"), 0, /#endif without #if/],
    [src(".exitm"), 0, /outside a macro/],
  ];
  for (const [text, line, re] of cases) {
    const f = parseAsm(text);
    const d = f.diagnostics.find((x) => re.test(x.message));
    assert.ok(d, `${JSON.stringify(text)}: ${JSON.stringify(f.diagnostics)}`);
    assert.equal(d.span.line, line, text);
  }
  const c = parseAsm(src("nop", "cli /* never", "closed")).diagnostics[0];
  assert.equal(c.span.start, 4);
});

test("macro template lines are not analysed directly; their errors surface at the invocation", () => {
  const f = parseAsm(src(".macro bad r", "  movl %\\r, %eax", ".endm", "  bad exx"));
  assert.equal(f.lines[1].template, true);
  assert.equal(f.diagnostics.length, 1);
  assert.equal(f.diagnostics[0].span.line, 3);
  assert.match(f.diagnostics[0].message, /in expansion of macro 'bad' \(body line 2\): unknown register '%exx'/);
});

test("code mode and sections: .code16/.code64, .section, .pushsection/.popsection, .previous", () => {
  const f = parseAsm(src(
    "nop",                               // 0  32 .text
    ".code16", "nop",                    // 2  16
    ".code64", "nop",                    // 4  64
    ".data", "nop",                      // 6  .data
    '.section .init.text,"ax",@progbits', "nop", // 8
    ".pushsection .afterburn,\"a\"", "nop",    // 10
    ".pushsection .discard", "nop",      // 12
    ".popsection", "nop",                // 14 .afterburn
    ".popsection", "nop",                // 16 .init.text
    ".previous", "nop",                  // 18 .data
    ".text 1", "nop",                    // 20 .text
    ".code32", "nop",                    // 22
  ), { mode: 32 });
  assert.deepEqual(ins(f).map((s) => `${s.mode} ${s.section}`), [
    "32 .text", "16 .text", "64 .text", "64 .data", "64 .init.text", "64 .afterburn", "64 .discard",
    "64 .afterburn", "64 .init.text", "64 .data", "64 .text", "32 .text",
  ]);
  assert.equal(ins(parseAsm("nop", { mode: 64 }))[0].mode, 64);
});

test("gcc line markers set origin (advancing per line) and #APP/#NO_APP set inApp", () => {
  const f = parseAsm(src(
    "\tmovl %eax, %ebx",        // 0
    "#APP",                     // 1
    '# 12 "drivers/irq.c" 1',   // 2
    "\tcli",                    // 3
    "\tsti",                    // 4
    '# 0 "" 2',                 // 5
    "#NO_APP",                  // 6
    "\tret",                    // 7
    '#line 100 "x.S"',          // 8
    "\thlt",                    // 9
  ), { fileName: "irq.s" });
  const all = ins(f);
  assert.deepEqual(all.map((s) => [s.statement.mnemonic, s.origin?.file, s.origin?.line, s.inApp ?? false]), [
    ["movl", undefined, undefined, false],
    ["cli", "drivers/irq.c", 12, true],
    ["sti", "drivers/irq.c", 13, true],
    ["ret", undefined, undefined, false],
    ["hlt", "x.S", 100, false],
  ]);
  assert.equal(f.lines[3].inApp, true);
  assert.deepEqual(f.lines[4].origin, { file: "drivers/irq.c", line: 13 });
});

test("cpp conditionals: #if 0 and known #ifdef branches are skipped; unknown ones analysed", () => {
  const f = parseAsm(src(
    "#define HAVE_X 1",  // 0
    "#if 0",             // 1
    "  bogus %exx",      // 2
    "#else",             // 3
    "  cli",             // 4
    "#endif",            // 5
    "#ifdef HAVE_X",     // 6
    "  sti",             // 7
    "#else",             // 8
    "  hlt",             // 9
    "#endif",            // 10
    "#ifdef CONFIG_SMP", // 11 (unknown here)
    "  clts",            // 12
    "#else",             // 13
    "  invd",            // 14
    "#endif",            // 15
    "#if HAVE_X > 2",    // 16
    "  wbinvd",          // 17
    "#endif",            // 18
  ), { fileName: "entry.S" });
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(texts(f), ["cli", "sti", "clts", "invd"]);
  assert.equal(f.lines[2].skipped, true);
  assert.equal(f.lines[4].skipped, undefined);
  assert.equal(f.lines[9].skipped, true);
  assert.equal(f.lines[17].skipped, true);
  // A plain .s file is not preprocessed: '#if 0' is a comment to gas.
  const s = parseAsm(src("#if 0", "  cli", "#endif"), { fileName: "x.s" });
  assert.deepEqual(texts(s), ["cli"]);
});

test("symbols and labels are collected", () => {
  const f = parseAsm(src("x = 4", ".set y, x*2", ".equ z, y+1", "1: nop", "1: nop", "foo: jmp 1b", ".section .data", "bar: .long 0"));
  assert.equal(f.symbols.get("z")?.value, 9);
  assert.equal(f.labels.get("1")?.length, 2);
  assert.equal(f.labels.get("bar")?.[0].section, ".data");
  assert.equal(f.labels.get("foo")?.[0].line, 5);
  assert.equal(resolveLocalLabel(f, "1b", 5)?.line, 4);
  assert.equal(resolveLocalLabel(f, "1f", 3)?.line, 4);
  assert.equal(resolveLocalLabel(f, "1f", 4), undefined);
  assert.equal(resolveLocalLabel(f, "2b", 5), undefined);
  const g = parseAsm(src("N = 3", ".rept N", "nop", ".endr"));
  assert.equal(texts(g).length, 3);
});

test("macro arguments: a block comment between them is no argument, as GNU as drops comments before reading them", () => {
  const src = [
    "\t.macro lst arg:req, args:vararg",
    "\t.long \\arg",
    "\t.ifnb \\args",
    "\tlst \\args",
    "\t.endif",
    "\t.endm",
    "\tlst 1, /* one, and */ 2 /* two */, 3",
    "\t.macro pick a, b",
    "\t\\b",
    "\t.endm",
    "\tpick /* first */ nop, /* second */ cli",
    "\t.macro str s",
    '\t.ascii "\\s"',
    "\t.endm",
    '\tstr "a/*b*/c"',
    "",
  ].join("\n");
  // What `as --32` makes of it: .long 1, 2, 3, cli, then the string with its slashes and stars.
  const file = parseAsm(src, { fileName: "t.s" });
  assert.deepEqual(file.diagnostics, []);
  const made = file.statements.map((s) => s.statement).flatMap((s) => (s.kind === "directive" && (s.name === ".long" || s.name === ".ascii") ? [`${s.name} ${s.args}`] : s.kind === "instruction" ? [s.mnemonic] : []));
  assert.deepEqual(made, [".long 1", ".long 2", ".long 3", "cli", '.ascii "a/*b*/c"']);
});
