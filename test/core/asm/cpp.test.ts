// The file-level cpp pass over lexed lines (core/asm/cpp.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAsm } from "../../../core/asm/index.js";
import { findSites } from "../../../core/asm/sites.js";

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

test("a .S file is read as cpp reads it for an x86 ELF target: __ASSEMBLER__ is defined, other systems' and architectures' macros are not", () => {
  const text = [
    "#ifdef __APPLE__", ".macro FUNC name", "_\\name:", "#else", ".macro FUNC name", "\\name:", "#endif", ".endm", // 0-7
    "#ifndef __ASSEMBLER__", "typedef unsigned int u32;", "#endif", // 8-10: C for the headers' C users
    "#if defined(__aarch64__) || defined(_WIN32)", "\tmsr daifset, #2", "#endif", // 11-13
    "\t.text", "FUNC start", "\tcli", "#ifdef __x86_64__", "\tlgdt gdtr", "#endif", "", // 14-20: unknown without flags, read
  ].join("\n");
  const file = parseAsm(text, { fileName: "t.S" });
  // GNU as after gcc -E: one FUNC, no C, no ARM: no complaint (both FUNCs read made 'macro FUNC defined twice' and C parse errors).
  assert.deepEqual(file.diagnostics, []);
  assert.deepEqual(file.lines.flatMap((l, i) => (l.skipped ? [i] : [])), [1, 2, 9, 12]);
  assert.deepEqual(findSites(file).map((s) => s.entry.id), ["cli", "lgdt"]);
  // A plain .s file has no cpp: # lines are comments, nothing is skipped.
  assert.deepEqual(parseAsm(text, { fileName: "t.s" }).lines.filter((l) => l.skipped), []);
});
