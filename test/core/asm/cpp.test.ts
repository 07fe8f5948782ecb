// The file-level cpp pass over lexed lines (core/asm/cpp.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAsm } from "../../../core/asm/index.js";

test("a '# digits…' comment that is no line marker is a comment, as cpp (assembler mode) and GNU as take it; #line must be well formed", () => {
  const comments = ["\tnop", "\t# 1234h:0000h \"the segment\"", "# 132x43 text mode", "# 8 bits per pixel", "\tcli", ""].join("\n");
  for (const fileName of ["t.S", "t.s"]) {
    const file = parseAsm(comments, { fileName });
    assert.deepEqual(file.diagnostics, [], fileName);
    assert.equal(file.lines[4].origin, undefined, fileName);
  }
  assert.deepEqual(parseAsm("#line twelve\n", { fileName: "t.S" }).diagnostics.map((d) => d.severity), ["warning"]);
  // A real marker still sets the origin.
  assert.deepEqual(parseAsm('# 7 "k.c"\n\tcli\n', { fileName: "t.s" }).lines[1].origin, { file: "k.c", line: 7 });
});
