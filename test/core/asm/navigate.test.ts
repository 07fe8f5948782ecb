// Editor-free navigation: folding ranges from the block structure (closers that match no open block,
// blocks left open inside one that closes), hovers, semantic tokens, symbols; GNU as is the reference
// where it resolves something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsmAnalysis } from "../../../core/asm/analysis.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyWord, documentSymbols, foldingRanges, hoverAt, semanticTokens, symbolDefinitionAt } from "../../../core/asm/navigate.js";

test("folding: a closer ends the innermost open block of its kind and the blocks left open inside it; unmatched closers fold nothing", () => {
  const text = [
    ".macro M", //     0
    "\t.if 1", //      1 (left open: ends with the macro)
    "\tcli", //        2
    ".endm", //        3
    ".endif", //       4 (nothing of its kind open)
    ".rept 2", //      5
    "\tnop", //        6
    ".endr", //        7
    ".endr", //        8 (unmatched)
    "\t.afterburn_noannotate", // 9
    "\tsti", //       10
    "\t.afterburn_annotate", //  11
  ].join("\n");
  const folds = foldingRanges(new AsmAnalysis(text, { fileName: "f.S" }));
  assert.deepEqual(
    folds.map((f) => [f.startLine, f.endLine, f.kind]),
    [[0, 3, undefined], [5, 7, undefined], [9, 11, "region"]],
  );
});

test("folding: thousands of unmatched closers under an open stack stay cheap and fold nothing extra", () => {
  const n = 20_000;
  const text = [...Array.from({ length: n }, () => ".if 1"), ...Array.from({ length: n }, () => ".endm")].join("\n");
  assert.deepEqual(foldingRanges(new AsmAnalysis(text, { fileName: "f.S" })), []);
});

test("hover: a mnemonic after a block comment is the instruction (it read as an undefined symbol); an assignment's name is its symbol", () => {
  const an = new AsmAnalysis(["/* é😀 */ cli", "f: /* irq */ sti", "foo = 5", "\tlock cmpxchgl %ebx, (%ecx)", "\tmovl $foo, %eax"].join("\n"), { fileName: "h.s" });
  const hover = (line: number, character: number) => hoverAt(an, line, character)?.markdown ?? "";
  assert.match(hover(0, 11), /^`cli` — privileged; the afterburner pads/);
  assert.deepEqual(classifyWord(an, 0, 11)?.kind, "instruction");
  assert.match(hover(1, 14), /^`sti` — privileged/);
  assert.equal(classifyWord(an, 2, 1)?.kind, "symbol");
  assert.match(hover(2, 1), /^\*\*symbol\*\* `foo` = `5`/);
  assert.equal(classifyWord(an, 3, 2)?.kind, "instruction");
  assert.equal(classifyWord(an, 3, 8)?.kind, "instruction");
  assert.equal(classifyWord(an, 4, 8)?.kind, "symbol");
});

test("semantic tokens: a .macro invocation is a macro token, marked sensitive when it expands to a site (invocations had no token)", () => {
  const an = new AsmAnalysis([".macro irq_off", "\tcli", ".endm", ".macro quiet", "\tnop", ".endm", "\tirq_off", "x:\tIRQ_OFF", "\tquiet"].join("\n"), { fileName: "t.s" });
  const tokens = semanticTokens(an).filter((t) => t.line >= 6).map((t) => [t.line, t.start, t.length, t.type, t.modifiers.join(" ")]);
  assert.deepEqual(tokens, [
    [6, 1, 7, "macro", "sensitive privileged"],
    [7, 0, 1, "function", "declaration"],
    [7, 3, 7, "macro", "sensitive privileged"],
    [8, 1, 5, "macro", ""],
  ]);
  assert.deepEqual(semanticTokens(an, 7, 8).map((t) => [t.line, t.start]), [[7, 0], [7, 3]]);
});

test(".s files have no cpp: a '# define …' or '# if …' comment is no #define symbol and opens no fold", () => {
  const text = ["# define the entry point", "# if interrupts are on, turn them off", "\t.text", "f:\tcli", "# endif of the comment", "\tret"].join("\n");
  const s = new AsmAnalysis(text, { fileName: "c.s" });
  assert.deepEqual(documentSymbols(s).map((x) => [x.name, x.kind]), [[".text", "section"], ["f", "label"]]);
  assert.deepEqual(foldingRanges(s).map((f) => [f.startLine, f.endLine]), [[2, 5]]);
  // The same lines in a .S file are cpp's.
  const S = new AsmAnalysis(text, { fileName: "c.S" });
  assert.ok(documentSymbols(S).some((x) => x.name === "the" && x.kind === "constant"));
  assert.ok(foldingRanges(S).some((f) => f.startLine === 1 && f.endLine === 4));
});

test("a symbol set again: hover and definition at a use show the .set in force there, as GNU as assembles the use", () => {
  const text = ["\t.text", ".set x, 1", "\tmovl $x, %eax", ".set x, x+4", "\tmovl $x, %ebx", "x = 9", "\tmovl $x, %ecx", ""].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "asm-set-"));
  let immediates: number[];
  try {
    writeFileSync(join(dir, "s.s"), text);
    execFileSync("as", ["--32", "-o", join(dir, "s.o"), join(dir, "s.s")]);
    const dump = execFileSync("objdump", ["-d", "--no-show-raw-insn", join(dir, "s.o")], { encoding: "utf8" });
    immediates = [...dump.matchAll(/mov\s+\$(0x[0-9a-f]+),/g)].map((m) => Number(m[1]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(immediates, [1, 5, 9]);
  const an = new AsmAnalysis(text, { fileName: "s.s" });
  const uses = [2, 4, 6];
  uses.forEach((line, k) => {
    assert.equal(hoverAt(an, line, 8)?.markdown.match(/\((-?\d+)\)$/)?.[1], String(immediates[k]), `line ${line}: ${hoverAt(an, line, 8)?.markdown}`);
    const def = symbolDefinitionAt(an, "x", line, 8);
    assert.equal(def?.range.line, line - 1);
  });
  // On a definition itself: that one.
  assert.match(hoverAt(an, 3, 6)!.markdown, /= `x\+4` \(5\)$/);
});

test("hover in a cpp macro's argument: ENTRY(foo) names the label foo, not an instruction", () => {
  const an = new AsmAnalysis(["#define ENTRY(x) .globl x; x:", "ENTRY(foo)", "\tcli", "\tjmp foo"].join("\n"), { fileName: "e.S" });
  assert.equal(classifyWord(an, 1, 7)?.kind, "label");
  assert.match(hoverAt(an, 1, 7)!.markdown, /^\*\*label\*\* `foo` — defined at line 2/);
});

test("hover on a label: a function's counts its sites up to the next label; a local label (1:, .L) starts no block and claims no count", () => {
  const text = ["f:", "1:\tcli", ".L2:\tsti", "\tjmp 1b", "\tjmp .L2", "g:", "\tnop"].join("\n");
  const an = new AsmAnalysis(text, { fileName: "l.s" });
  assert.match(hoverAt(an, 0, 0)!.markdown, /; 2 sensitive sites until the next label$/);
  for (const [line, ch] of [[3, 6], [4, 6]] as const) {
    const md = hoverAt(an, line, ch)!.markdown;
    assert.match(md, /^\*\*label\*\*/);
    assert.doesNotMatch(md, /sensitive site/, md);
  }
});
