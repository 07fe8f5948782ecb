// Folding ranges from the block structure, including closers that match no open block and blocks
// left open inside one that closes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsmAnalysis } from "../../../core/asm/analysis.js";
import { foldingRanges } from "../../../core/asm/navigate.js";

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
