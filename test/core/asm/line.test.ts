import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLine, lexState, LEX_INITIAL, renderInstruction } from "../../../core/asm/index.js";
import type { InstructionStatement, MemoryOperand, ParsedLine, Span, Statement } from "../../../core/asm/index.js";

function parse(text: string): ParsedLine {
  return parseLine(text, 7, LEX_INITIAL).parsed;
}
function at(text: string, span: Span): string {
  assert.equal(span.line, 7);
  return text.slice(span.start, span.end);
}
function instructions(p: ParsedLine): InstructionStatement[] {
  return p.statements.filter((s): s is InstructionStatement => s.kind === "instruction");
}
function only(text: string): InstructionStatement {
  const p = parse(text);
  assert.deepEqual(p.diagnostics, [], `diagnostics for ${text}`);
  const ins = instructions(p);
  assert.equal(ins.length, 1);
  return ins[0];
}

test("gcc-style instruction: mnemonic, operands and exact spans", () => {
  const t = "\tmovl\t8(%ebp), %eax";
  const ins = only(t);
  assert.equal(ins.mnemonic, "movl");
  assert.equal(at(t, ins.mnemonicSpan), "movl");
  assert.equal(at(t, ins.span), "movl\t8(%ebp), %eax");
  assert.equal(ins.text, "movl\t8(%ebp), %eax");
  assert.equal(ins.operands.length, 2);
  const [m, r] = ins.operands;
  assert.equal(at(t, m.span), "8(%ebp)");
  assert.equal(at(t, r.span), "%eax");
  assert.deepEqual({ ...m, span: undefined }, { kind: "mem", disp: "8", dispValue: 8, base: "ebp", indirect: false, bare: false, span: undefined });
  assert.equal(r.kind === "reg" && r.reg, "eax");
});

test("two instructions split at ';' and a label with a trailing comment", () => {
  const t = "cli; sti";
  const [a, b] = instructions(parse(t));
  assert.equal(at(t, a.span), "cli");
  assert.equal(at(t, b.span), "sti");
  const u = "1: cli # comment; not a statement";
  const p = parse(u);
  assert.equal(p.statements.length, 2);
  const l = p.statements[0];
  assert.ok(l.kind === "label" && l.numeric && l.name === "1");
  assert.equal(at(u, l.span), "1:");
  assert.equal(at(u, p.statements[1].span), "cli");
});

test("labels: named, .L local, several on one line", () => {
  const t = "foo: .L3:\t2: movl $1, %eax";
  const p = parse(t);
  const names = p.statements.map((s: Statement) => (s.kind === "label" ? `${s.name}/${s.numeric}` : s.kind));
  assert.deepEqual(names, ["foo/false", ".L3/false", "2/true", "instruction"]);
  assert.equal(at(t, p.statements[1].span), ".L3:");
});

test("prefixes as words and with ';'", () => {
  const cases: [string, string[], string, string][] = [
    ["lock incl (%eax)", ["lock"], "incl", "lock incl (%eax)"],
    ["rep movsb", ["rep"], "movsb", "rep movsb"],
    ["rep; movsl", ["rep"], "movsl", "rep; movsl"],
    ["repne scasb", ["repne"], "scasb", "repne scasb"],
    ["repz cmpsb", ["repz"], "cmpsb", "repz cmpsb"],
    ["data16 addr32 lgdt (%eax)", ["data16", "addr32"], "lgdt", "data16 addr32 lgdt (%eax)"],
    ["fs lodsb", ["fs"], "lodsb", "fs lodsb"],
    ["lock ; cmpxchgl %ecx, (%edx)", ["lock"], "cmpxchgl", "lock ; cmpxchgl %ecx, (%edx)"],
  ];
  for (const [t, prefixes, mnemonic, span] of cases) {
    const ins = only(t);
    assert.deepEqual(ins.prefixes.map((p) => p.name), prefixes, t);
    for (const p of ins.prefixes) assert.equal(at(t, p.span).toLowerCase().replace(/[%:]/g, ""), p.name);
    assert.equal(ins.mnemonic, mnemonic);
    assert.equal(at(t, ins.span), span);
  }
  // A lone prefix at the end of a line assembles as the prefix byte itself.
  const lone = only("lock");
  assert.equal(lone.mnemonic, "lock");
  assert.deepEqual(lone.prefixes, []);
  // %fs: before the mnemonic is understood but gas rejects it: a warning.
  const p = parse("%fs: lodsb");
  assert.equal(instructions(p)[0].prefixes[0].name, "fs");
  assert.equal(p.diagnostics[0].severity, "warning");
});

test("operands: registers, st(i), immediates, indirect, memory with omitted parts", () => {
  const t = "ljmp *%fs:-4+8(,%ebx,4)";
  const m = only(t).operands[0] as MemoryOperand;
  assert.equal(m.kind, "mem");
  assert.equal(m.indirect, true);
  assert.equal(m.segment, "fs");
  assert.equal(m.disp, "-4+8");
  assert.equal(m.dispValue, 4);
  assert.equal(m.base, undefined);
  assert.equal(m.index, "ebx");
  assert.equal(m.scale, 4);
  assert.equal(at(t, m.span), "*%fs:-4+8(,%ebx,4)");

  const st = only("fadd %st(1), %st").operands;
  assert.deepEqual(st.map((o) => o.kind === "reg" && o.reg), ["st(1)", "st"]);
  const sp = only("fadd %st (2), %st").operands[0];
  assert.ok(sp.kind === "reg" && sp.reg === "st(2)");

  const imm = only("movl $(1<<4)|3, %eax").operands[0];
  assert.ok(imm.kind === "imm" && imm.value === 19 && imm.text === "(1<<4)|3");
  const sym = only("movl $foo+4, %eax").operands[0];
  assert.ok(sym.kind === "imm" && sym.value === undefined && sym.text === "foo+4");

  const jr = only("call *%eax").operands[0];
  assert.ok(jr.kind === "reg" && jr.indirect && jr.reg === "eax");
  const bare = only("jmp foo").operands[0];
  assert.ok(bare.kind === "mem" && bare.bare && bare.disp === "foo");
  const ind = only("jmp *foo").operands[0];
  assert.ok(ind.kind === "mem" && !ind.bare && ind.indirect);
  const plain = only("movl (%eax,%ebx), %ecx").operands[0] as MemoryOperand;
  assert.equal(plain.base, "eax");
  assert.equal(plain.index, "ebx");
  assert.equal(plain.scale, 1);
  const paren = only("movl foo+(4*2), %eax").operands[0] as MemoryOperand;
  assert.ok(paren.bare && paren.disp === "foo+(4*2)" && paren.base === undefined);
  const rip = only("movq 8(%rip), %rax").operands[0] as MemoryOperand;
  assert.equal(rip.base, "rip");
  const cr = only("movl %eax, %cr3").operands[1];
  assert.ok(cr.kind === "reg" && cr.reg === "cr3");
});

test("directives: name, args, argList; strings keep ';' and '#'", () => {
  const t = '.ascii "a;b#c", "d\\"e" # real comment';
  const p = parse(t);
  assert.equal(p.statements.length, 1);
  const d = p.statements[0];
  assert.ok(d.kind === "directive");
  assert.equal(d.name, ".ascii");
  assert.equal(at(t, d.nameSpan), ".ascii");
  assert.deepEqual(d.argList, ['"a;b#c"', '"d\\"e"']);
  assert.equal(at(t, d.span), '.ascii "a;b#c", "d\\"e"');
  const s = parse('\t.section .text.startup,"ax",@progbits').statements[0];
  assert.ok(s.kind === "directive" && s.argList.length === 3 && s.argList[0] === ".text.startup");
  const u = parse(".SECTION .data").statements[0];
  assert.ok(u.kind === "directive" && u.name === ".section");
});

test("directive argument lists: none, one, two, many; empty pieces, parentheses and char constants", () => {
  const args = (t: string) => {
    const d = parse(t).statements[0];
    assert.ok(d.kind === "directive");
    return d.argList;
  };
  assert.deepEqual(args(".text"), []);
  assert.deepEqual(args("\t.loc 1 12 3"), ["1 12 3"]);
  assert.deepEqual(args(".cfi_offset 3, -8"), ["3", "-8"]);
  assert.deepEqual(args(".byte 1, 2 ,3,  4 "), ["1", "2", "3", "4"]);
  assert.deepEqual(args(".byte ,,"), ["", "", ""]);
  assert.deepEqual(args(".long f(1, 2), (3,4)"), ["f(1, 2)", "(3,4)"]);
  assert.deepEqual(args(".byte ',', 'a"), ["','", "'a"]);
  // A list is the directive's own: changing one leaves another directive's alone.
  const a = args(".byte 1, 2");
  a.push("3");
  assert.deepEqual(args(".byte 1, 2"), ["1", "2"]);
});

test("char constants do not start comments or split statements", () => {
  const ins = only("movb $'#, %al");
  assert.equal(ins.operands.length, 2);
  assert.ok(ins.operands[0].kind === "imm" && ins.operands[0].value === 35);
  const two = instructions(parse("movb $';, %al; nop"));
  assert.deepEqual(two.map((i) => i.mnemonic), ["movb", "nop"]);
});

test("assignments", () => {
  for (const [t, name, expr] of [["x = 3+4", "x", "3+4"], ["y == 1", "y", "1"], [". = 0x100", ".", "0x100"], [".Lfoo=.", ".Lfoo", "."]]) {
    const a = parse(t).statements[0];
    assert.ok(a.kind === "assignment", t);
    assert.equal(a.name, name);
    assert.equal(a.expr, expr);
  }
});

test("comments: '#', leading '/', block comments inside and across lines", () => {
  assert.deepEqual(parse("# only a comment").statements, []);
  assert.deepEqual(parse("/ an old-style i386 comment").statements, []);
  const t = "movl /* a, b */ %eax, %ebx";
  const ins = only(t);
  assert.equal(ins.operands.length, 2);
  assert.equal(at(t, ins.operands[0].span), "%eax");
  const open = parseLine("cli /* starts", 0, LEX_INITIAL);
  assert.equal(open.state, lexState(true));
  assert.equal(open.parsed.statements.length, 1);
  const inside = parseLine("sti ; still comment", 1, open.state);
  assert.deepEqual(inside.parsed.statements, []);
  assert.equal(inside.state, open.state);
  const close = parseLine("end */ hlt", 2, inside.state);
  assert.equal(close.state, LEX_INITIAL);
  const h = close.parsed.statements[0];
  assert.ok(h.kind === "instruction" && h.mnemonic === "hlt" && h.span.start === 7 && h.span.end === 10);
});

test("cpp lines, line markers and #APP are preprocessor statements", () => {
  const cases: [string, string, string][] = [
    ["#include <asm/linkage.h>", "include", "<asm/linkage.h>"],
    ["#define FOO 0x10", "define", "FOO 0x10"],
    ["# define BAR(x) ((x)+1) // c++ comment", "define", "BAR(x) ((x)+1)"],
    ["#undef FOO", "undef", "FOO"],
    ["#if defined(CONFIG_X86) && FOO > 1", "if", "defined(CONFIG_X86) && FOO > 1"],
    ["#ifdef X", "ifdef", "X"],
    ["#ifndef X", "ifndef", "X"],
    ["#elif 0", "elif", "0"],
    ["#else", "else", ""],
    ["#endif /* X */", "endif", ""],
    ["#error no way", "error", "no way"],
    ["#pragma once", "pragma", "once"],
    ['# 12 "file.c" 1', "line-marker", '12 "file.c" 1'],
    ['#line 40 "k.c"', "line", '40 "k.c"'],
    ["#APP", "app", ""],
    ["#NO_APP", "no_app", ""],
  ];
  for (const [t, directive, args] of cases) {
    const p = parse(t);
    assert.equal(p.statements.length, 1, t);
    const s = p.statements[0];
    assert.ok(s.kind === "preprocessor", t);
    assert.equal(s.directive, directive, t);
    assert.equal(s.args, args, t);
    assert.ok(s.span.start === 0 && s.span.end <= t.length);
  }
  // A backslash-continued #define swallows the next line.
  const r = parseLine("#define ENTRY(x) \\", 0, LEX_INITIAL);
  assert.equal(r.state.inPreprocessorContinuation, true);
  const next = parseLine("  .globl x; x:", 1, r.state);
  assert.deepEqual(next.parsed.statements, []);
  assert.equal(next.state, LEX_INITIAL);
});

test("diagnostics carry exact spans", () => {
  const cases: [string, string, RegExp][] = [
    ["movl %exx, %eax", "%exx", /unknown register/],
    ["movl (%eax, %ebx", "(%eax, %ebx", /missing '\)'/],
    ["movl %eax), %ebx", ")", /without '\('/],
    ['.ascii "abc', '"abc', /unterminated string/],
    ["movl (%eax,%ebx,3), %ecx", "3", /scale factor/],
    ["movl %eax, , %ebx", ",", /missing operand/],
    ["movl %eax:4, %ebx", "%eax", /not a segment register/],
    ["123 cli", "123 cli", /expected an instruction/],
    ["movl $, %eax", "$", /missing value/],
  ];
  for (const [t, slice, message] of cases) {
    const p = parse(t);
    assert.ok(p.diagnostics.length >= 1, t);
    const d = p.diagnostics.find((x) => message.test(x.message));
    assert.ok(d, `${t}: ${JSON.stringify(p.diagnostics)}`);
    assert.equal(at(t, d.span), slice, t);
  }
});

test("a word with operands is an instruction whatever the mnemonic", () => {
  const ins = only("frobnicate %eax, 4(%ebx)");
  assert.equal(ins.mnemonic, "frobnicate");
  assert.equal(ins.operands.length, 2);
  assert.equal(only("CLI").mnemonic, "cli");
});

test("renderInstruction writes canonical text that parses back to the same instruction", () => {
  const samples = ["lock incl 4(%eax)", "movl %fs:8(%ebx,%ecx,2), %edx", "ljmp $8, $1f", "call *%eax", "jmp *foo(,%eax,4)", "rep movsb", "fstp %st(3)"];
  for (const s of samples) {
    const a = only(s);
    const text = renderInstruction(a);
    const b = only(text);
    assert.equal(renderInstruction(b), text);
    assert.equal(b.mnemonic, a.mnemonic);
    assert.deepEqual(b.operands.map((o) => ({ ...o, span: 0 })), a.operands.map((o) => ({ ...o, span: 0 })));
  }
  assert.equal(renderInstruction(only("lock\tincl   4( %eax )")), "lock incl 4(%eax)");
});

test("never throws on garbage, long lines and replacement characters", () => {
  const weird = ["\uFFFD\uFFFD%\uFFFD", "\0\0\0", "((((((((((", "$".repeat(10000), "movl " + "(".repeat(50000), "\"", "'", "\\", "%", "*", "#", "/*", ".macro", "x".repeat(200000)];
  for (const t of weird) {
    const r = parseLine(t, 0);
    for (const s of r.parsed.statements) assert.ok(s.span.start >= 0 && s.span.end <= t.length && s.span.start <= s.span.end);
    for (const d of r.parsed.diagnostics) assert.ok(d.span.start >= 0 && d.span.end <= Math.max(1, t.length));
  }
});
