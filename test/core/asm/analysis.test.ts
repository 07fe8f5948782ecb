// AsmAnalysis of plain .s files: `#include` is a comment there, `.include` is GNU as's. The lines are
// found for navigation (go to definition opens the file), and the included macros are expanded, as the
// afterburner reads the included files as GNU as does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AsmAnalysis } from "../../../core/asm/analysis.js";
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
