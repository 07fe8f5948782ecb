// GNU as forms the parser once read otherwise than GNU as: what the parser makes of them, held to
// what `as --32` makes of the same text (symbol names from nm, instructions from objdump).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AsmDocument, LEX_INITIAL, parseAsm, parseLine } from "../../../core/asm/index.js";
import type { InstructionStatement, LabelStatement } from "../../../core/asm/index.js";

/** Assembles with `as --32 -L` (local symbols kept); returns nm's symbol names and objdump's instructions. */
function gas(source: string): { symbols: string[]; instructions: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "asm-gas-forms-"));
  try {
    const s = join(dir, "t.s");
    const o = join(dir, "t.o");
    writeFileSync(s, source);
    execFileSync("as", ["--32", "-L", "-o", o, s], { stdio: ["ignore", "pipe", "pipe"] });
    const nm = execFileSync("nm", [o], { encoding: "utf8" });
    const symbols = nm.split("\n").filter((l) => l.length > 0).map((l) => l.slice(11));
    const dump = execFileSync("objdump", ["-d", "--no-show-raw-insn", o], { encoding: "utf8" });
    const instructions: string[] = [];
    for (const line of dump.split("\n")) {
      const m = /^\s+[0-9a-f]+:\t(.*)$/.exec(line);
      if (m) instructions.push(m[1].trim().replace(/\s+/g, " "));
    }
    return { symbols, instructions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function instructionsOf(src: string): InstructionStatement[] {
  return parseAsm(src, { fileName: "t.s" }).statements.map((s) => s.statement).filter((s): s is InstructionStatement => s.kind === "instruction");
}

test("prefix/mnemonic: the prefix and the mnemonic as GNU as reads them; a blank next to the '/' is an error, as GNU as says", () => {
  const src = "\t.text\n\trep/insb\n\tREP/OUTSB\nf:\tlock/incl (%eax)\n\tcs/rep/outsl\n\t{disp32}/movl 4(%eax), %ebx\n";
  const f = parseAsm(src, { fileName: "t.s" });
  assert.deepEqual(f.diagnostics, []);
  const ins = instructionsOf(src);
  assert.deepEqual(ins.map((i) => [i.prefixes.map((p) => p.name), i.mnemonic, i.text]), [
    [["rep"], "insb", "rep/insb"],
    [["rep"], "outsb", "REP/OUTSB"],
    [["lock"], "incl", "lock/incl (%eax)"],
    [["cs", "rep"], "outsl", "cs/rep/outsl"],
    [["{disp32}"], "movl", "{disp32}/movl 4(%eax), %ebx"],
  ]);
  assert.equal(gas(src).instructions.length, ins.length);
  for (const bad of ["rep/ insb", "rep /insb", "rep/", "lock/{disp32}incl 4(%eax)"]) {
    const p = parseLine(bad, 3, LEX_INITIAL).parsed;
    assert.equal(p.statements.length, 0, bad);
    assert.match(p.diagnostics[0]?.message ?? "", /GNU as expects a mnemonic right after/, bad);
    assert.throws(() => gas(`\t.text\n\t${bad}\n`), Error, `GNU as rejects ${bad} too`);
  }
});

test("quoted symbol names: a label is the symbol GNU as makes of it (escapes included), and ends at its own colon", () => {
  const src = ['\t.text', '"foo bar":\tcli', '"a:b": "c;d": sti', '"lbl#1":\thlt # c', '"e\\"f": nop', '"g\\\\h": nop', '"1": nop', '\tjmp "foo bar"', ""].join("\n");
  const f = parseAsm(src, { fileName: "t.s" });
  assert.deepEqual(f.diagnostics, []);
  const labels = f.statements.map((s) => s.statement).filter((s): s is LabelStatement => s.kind === "label");
  assert.deepEqual(labels.map((l) => [l.name, l.numeric, l.quoted]), [
    ["foo bar", false, true], ["a:b", false, true], ["c;d", false, true], ["lbl#1", false, true], ['e"f', false, true], ["g\\h", false, true], ["1", false, true],
  ]);
  const lines = src.split("\n");
  assert.equal(lines[2].slice(labels[1].span.start, labels[1].span.end), '"a:b":');
  assert.deepEqual([...f.labels.keys()].sort(), gas(src).symbols.sort());
  assert.deepEqual(instructionsOf(src).map((i) => i.mnemonic), ["cli", "sti", "hlt", "nop", "nop", "nop", "jmp"]);
  // A quoted name not followed by ':' is no label, for GNU as either.
  assert.equal(parseLine('"a b" : cli', 0, LEX_INITIAL).parsed.diagnostics.length, 1);
});

test(".altmacro: LOCAL names are numbered as GNU as numbers them, and %expr / <text> arguments evaluate", () => {
  const src = [
    "\t.altmacro",
    "\t.macro setcr n, src",
    "\tLOCAL skip, done",
    "\ttestl src, src",
    "\tjz skip",
    "\tmovl src, %cr&n",
    "skip:\tjmp done",
    "done:",
    "\t.endm",
    "\t.text",
    "\tsetcr 3, <%eax>",
    "\t.set X, 2",
    "\tsetcr %(X+2), <%ecx>",
    "\tsetcr %X, <%e!>dx>",
    "\t.noaltmacro",
    "",
  ].join("\n").replace("<%e!>dx>", "<%edx>");
  const f = parseAsm(src, { fileName: "t.s" });
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual([...f.labels.keys()].sort(), gas(src).symbols.filter((s) => s.startsWith(".LL")).sort());
  const movs = instructionsOf(src).filter((i) => i.mnemonic === "movl").map((i) => i.text);
  assert.deepEqual(movs, ["movl %eax, %cr3", "movl %ecx, %cr4", "movl %edx, %cr2"]);
  assert.deepEqual(gas(src).instructions.filter((i) => i.startsWith("mov")), ["mov %eax,%cr3", "mov %ecx,%cr4", "mov %edx,%cr2"]);
  // A LOCAL name is a parameter's already: GNU as refuses it, so does the parser.
  const clash = parseAsm("\t.altmacro\n\t.macro m a\n\tLOCAL a\n\tnop\n\t.endm\n\tm 1\n", { fileName: "t.s" });
  assert.match(clash.diagnostics[0]?.message ?? "", /LOCAL 'a' is already a parameter/);
  // Without .altmacro, LOCAL is an instruction (which GNU as does not know) and %eax an argument as written.
  const plain = instructionsOf("\t.macro m a\n\tLOCAL x\n\tpushl \\a\n\t.endm\n\tm %eax\n");
  assert.deepEqual(plain.map((i) => i.text), ["LOCAL x", "pushl %eax"]);
});

test("<text> with ! escapes and quoted arguments under .altmacro, unevaluable %expr reported", () => {
  const src = "\t.altmacro\n\t.macro m a, b\n\tmovl $(a), %eax\n\tmovl $a, %ebx\n\t.ascii b\n\t.endm\n\t.text\n\tm <4!<!<1>, \"x y\"\n";
  const ins = instructionsOf(src);
  assert.deepEqual(ins.map((i) => i.text), ["movl $(4<<1), %eax", "movl $a, %ebx"]);
  const f = parseAsm(src, { fileName: "t.s" });
  const ascii = f.statements.find((s) => s.statement.kind === "directive" && s.statement.name === ".ascii")!;
  assert.equal(ascii.statement.kind === "directive" && ascii.statement.args, '"x y"');
  assert.equal(gas(src).instructions[0], "mov $0x8,%eax");
  const bad = parseAsm("\t.altmacro\n\t.macro m a\n\tnop\n\t.endm\n\tm %undefined_sym\n", { fileName: "t.s" });
  assert.match(bad.diagnostics[0]?.message ?? "", /% operator needs an absolute expression/);
});

test("&name and \\(text) substitute as GNU as does, without .altmacro; && and an unknown &name stay", () => {
  const src = "\t.text\n\t.macro m n, r\n\tmovl %eax, %cr&n\n\tpushl %&r&\n\tmovl %e\\(ax), %cr&n\n\tandl $1&&2&x, %eax\n\t.endm\n\tm 3, ds\n";
  assert.deepEqual(instructionsOf(src).map((i) => i.text), ["movl %eax, %cr3", "pushl %ds", "movl %eax, %cr3", "andl $1&&2&x, %eax"]);
  assert.deepEqual(gas(src.replace("\tandl $1&&2&x, %eax\n", "")).instructions, ["mov %eax,%cr3", "push %ds", "mov %eax,%cr3"]);
});

test(".irp values separated by blanks are separate values; .irpc skips blanks; .rept substitutes nothing (\\@ stays, as GNU as leaves it)", () => {
  const src = "\t.text\n\t.irp i,nop sti,hlt\n\t\\i\n\t.endr\n\t.irpc c, 1 2\n\tint $\\c\n\t.endr\n";
  assert.deepEqual(instructionsOf(src).map((i) => i.text), ["nop", "sti", "hlt", "int $1", "int $2"]);
  assert.deepEqual(gas(src).instructions, ["nop", "sti", "hlt", "int $0x1", "int $0x2"]);
  const rept = parseAsm("\t.text\n\t.rept 2\nx\\@:\tnop\n\t.endr\n", { fileName: "t.s" });
  assert.deepEqual([...rept.labels.keys()], ["x\\@"]);
  assert.throws(() => gas("\t.text\n\t.rept 2\nx\\@:\tnop\n\t.endr\n"), Error, "GNU as does not substitute \\@ in .rept either");
});

test("AsmDocument: edits in a macro or loop body of a file using .altmacro or &name agree with a full parse", () => {
  const cases: [string[], number, string][] = [
    [["\t.altmacro", "\t.macro M a", "\tnop", "\tpushl a", "\t.endm", "\t.text", "\tM %eax"], 2, "\tpopl a"],
    [["\t.altmacro", "\t.text", "\t.irp r, eax, ds", "\tnop", "\tpushl %r", "\t.endr"], 3, "\tpopl %r"],
    [["\t.text", "\t.irp r, eax, ds", "\tnop", "\tpushl %&r", "\t.endr"], 2, "\tpopl %&r"],
    [["\t.text", "\t.irp r, eax, ds", "\tnop", "\tpushl %eax", "\t.endr"], 3, "\tpushl %&r"],
  ];
  for (const [lines, line, text] of cases) {
    const doc = new AsmDocument(lines.join("\n"), { fileName: "m.S" });
    void doc.file;
    doc.applyChange(line, line + 1, [text]);
    lines[line] = text;
    const full = parseAsm(lines.join("\n"), { fileName: "m.S" });
    assert.deepEqual(doc.file.statements, full.statements, lines.join(" | "));
    assert.deepEqual(doc.file.diagnostics, full.diagnostics, lines.join(" | "));
  }
});

test("(base, n): GNU as reads a number after the base as a scale without an index register, not as a bad index", () => {
  const src = "\tlea 8(%esi, 1), %eax\n\tljmp *4(%ebx,1)\n";
  assert.deepEqual(gas(src).instructions, ["lea 0x8(%esi),%eax", "ljmp *0x4(%ebx)"]);
  const file = parseAsm(src, { fileName: "t.s" });
  assert.deepEqual(file.diagnostics, []);
  const [lea, ljmp] = instructionsOf(src);
  for (const ins of [lea, ljmp]) {
    const m = ins.operands[0];
    assert.ok(m.kind === "mem" && m.index === undefined && m.base !== undefined, JSON.stringify(m));
  }
  // As GNU as says: another scale warns, a name that is neither register nor number is an error.
  const warned = parseAsm("\tlea 8(%esi, 4), %eax\n", { fileName: "t.s" }).diagnostics;
  assert.deepEqual(warned.map((d) => [d.severity, d.message]), [["warning", "scale factor of 4 without an index register"]]);
  assert.deepEqual(parseAsm("\tlea 8(%esi, foo), %eax\n", { fileName: "t.s" }).diagnostics.map((d) => d.severity), ["error"]);
});
