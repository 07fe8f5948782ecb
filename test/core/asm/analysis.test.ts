// AsmAnalysis of plain .s files: `#include` is a comment there, `.include` is GNU as's. The lines are
// found for navigation (go to definition opens the file), and the included macros are expanded, as the
// afterburner reads the included files as GNU as does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AsmAnalysis } from "../../../core/asm/analysis.js";
import { semanticTokens } from "../../../core/asm/navigate.js";
import { prepareWithIncludes } from "../../../core/burn/include.js";

test(".s: .include lines name the file they include (#include lines are comments); the sites are the afterburner's", () => {
  const dir = mkdtempSync(join(tmpdir(), "asm-include-"));
  try {
    writeFileSync(join(dir, "flags.inc"), [".macro SAVE", "\tpushfl", ".endm"].join("\n") + "\n");
    writeFileSync(join(dir, "other.h"), [".macro NEVER", "\tcli", ".endm"].join("\n") + "\n");
    const text = ['\t.include "flags.inc"', '#include "other.h"', "\t.text", "\tSAVE", "\tcli", ""].join("\n");
    const an = new AsmAnalysis(text, { fileName: join(dir, "a.s") });
    assert.deepEqual(an.includeSet.includes.map((i) => [i.line, i.start, i.end, i.path]), [[0, 11, 20, join(dir, "flags.inc")]]);
    const burned = prepareWithIncludes(text, { fileName: "a.s", includes: { cwd: dir } });
    assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line + 1, s.annotated]), [["pushf", 4, true], ["cli", 5, true]]);
    assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line + 1]), burned.sites.map((s) => [s.id, s.input.line]));
    // An edit of the .include line is read again.
    an.applyEdit({ start: { line: 0, character: 11 }, end: { line: 0, character: 20 } }, "other.h");
    assert.deepEqual(an.includeSet.includes.map((i) => i.path), [join(dir, "other.h")]);
    an.applyEdit({ start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, "#");
    assert.deepEqual(an.includeSet.includes, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(".S: a // comment is cpp's, so the assembler never sees it: no parse error, the sites stay; in a plain .s it is junk, as GNU as says", () => {
  const lines = [
    "\t.text",
    ".macro SAVE_FLAGS",
    "\tpushfl // kept for later",
    ".endm",
    "start:\tmovl %esp, %ebp\t// the frame",
    "2:\t// nothing after the label",
    "\tcli // masked from here",
    "\tcmpb $'/', %al // a slash",
    '\t.ascii "a//b" // slashes in a string',
    "\tSAVE_FLAGS // the macro",
    "/* a block comment, with a link",
    "   http://example.invalid/doc */\tmovl %eax, %ecx",
    "",
  ];
  const an = new AsmAnalysis(lines.join("\n"), { fileName: "entry.S" });
  assert.deepEqual(an.parseDiagnostics(), []);
  assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line]), [["cli", 6], ["pushf", 9]]);
  // Typed in later, a comment is read the same way.
  an.applyEdit({ start: { line: 4, character: 0 }, end: { line: 4, character: 0 } }, "\tmovl %eax, %edx // again\n");
  assert.deepEqual(an.parseDiagnostics(), []);
  assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line]), [["cli", 7], ["pushf", 10]]);
  const plain = new AsmAnalysis(["\tmovl %esp, %ebp // the frame", ""].join("\n"), { fileName: "entry.s" });
  assert.equal(plain.parseDiagnostics().length, 1);
});

test(".S: a backslash-newline joins lines before the assembler reads them (cpp splices them): a site split over lines is found on its lines", () => {
  const lines = [
    "\t.text",
    "\tmovl $(1 | \\",
    "\t\t2), %eax",
    "\tmovl %eax, \\",
    "\t\t%cr3",
    "\tpushl %eax; \\",
    "\tpopfl",
    "#define SAVED \\",
    "\tcli",
    "\tnop",
    "",
  ];
  const text = lines.join("\n");
  const an = new AsmAnalysis(text, { fileName: "entry.S" });
  assert.deepEqual(an.parseDiagnostics(), []);
  assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line, s.range.start]), [["mov-to-cr3", 3, 1], ["popf", 6, 1]]);
  // The tokens are on the lines they are written on; an exclusion goes around the whole joined line.
  const tokens = semanticTokens(an).map((t) => [t.line, t.start, t.type]);
  for (const t of [[3, 1, "keyword"], [4, 2, "variable"], [6, 1, "keyword"]]) assert.ok(tokens.some((u) => JSON.stringify(u) === JSON.stringify(t)), JSON.stringify(tokens));
  assert.deepEqual(an.wholeStatementLines(4, 4), { first: 3, last: 4 });
  // Joined and split again by edits, as a fresh analysis reads the text.
  an.applyEdit({ start: { line: 9, character: 4 }, end: { line: 9, character: 4 } }, " \\");
  assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line]), new AsmAnalysis(an.text, { fileName: "entry.S" }).sites().map((s) => [s.entry.id, s.range.line]));
  an.applyEdit({ start: { line: 3, character: 11 }, end: { line: 3, character: 13 } }, "");
  assert.deepEqual(an.parseDiagnostics().map((d) => d.range.line), [3, 4]);
  assert.deepEqual(an.sites().map((s) => [s.entry.id, s.range.line]), [["popf", 6]]);
  // Not in a plain .s file: GNU as has no line splicing.
  assert.notDeepEqual(new AsmAnalysis(text, { fileName: "entry.s" }).parseDiagnostics(), []);
});
