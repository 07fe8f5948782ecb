// Breakpoints on `.macro` body lines (debugger/macro-lines.ts): GNU as's line table names the calls,
// never the body, so such a breakpoint stops at each call (it moved to the next line with code
// before: the first instruction after the definition, before any call). Over DAP on a guest the
// adapter builds from a .S file with the afterburner.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { macroUsesAt } from "../../debugger/macro-lines.js";
import { adapterSuite } from "./harness.js";

const suite = adapterSuite();

const GUEST = [
  "\t.text", //                      1
  "\t.macro MARK ch", //             2
  "\tmovb $\\ch, %al", //           3
  "\toutb %al, %dx", //              4
  "\t.endm", //                      5
  "\t.macro TWICE", //               6
  "\tMARK 'x'", //                   7
  "\tMARK 'y'", //                   8
  "\t.endm", //                      9
  "\t.macro NEVER", //               10
  "\tcli", //                        11
  "\t.endm", //                      12
  "\t.globl _start", //              13
  "_start:", //                      14
  "\tmovw $0x3f8, %dx", //           15
  "\tMARK 'a'", //                   16
  "\tnop", //                        17
  "\tMARK 'b'", //                   18
  "\tTWICE", //                      19
  "\tmovb $10, %al", //              20
  "\toutb %al, %dx", //              21
  "\tmovb $0, %al", //               22
  "\toutb %al, $0xf4", //            23
  "1:\thlt", //                      24
  "\tjmp 1b", //                     25
  "",
].join("\n");

describe("breakpoints in .macro bodies", () => {
  it("macroUsesAt: a body line gives the calls that assemble it, nested calls included; other lines give none", () => {
    assert.deepEqual(macroUsesAt(GUEST, "g.S", 2), { name: "MARK", lines: [15, 17, 18] });
    assert.deepEqual(macroUsesAt(GUEST, "g.S", 7), { name: "TWICE", lines: [18] }, "a line of TWICE that calls MARK");
    assert.deepEqual(macroUsesAt(GUEST, "g.S", 10), { name: "NEVER", lines: [] });
    assert.equal(macroUsesAt(GUEST, "g.S", 14), undefined, "outside any macro");
    // Purged and defined again: each definition's lines give its own calls.
    const twice = "\t.text\n.macro m\n\tcli\n.endm\n\tm\n.purgem m\n.macro m\n\t# c\n\tsti\n.endm\n\tm\n\tm\n";
    assert.deepEqual(macroUsesAt(twice, "a.s", 2), { name: "m", lines: [4] });
    assert.deepEqual(macroUsesAt(twice, "a.s", 7), { name: "m", lines: [10, 11] }, "a comment line: every call of this definition");
    assert.deepEqual(macroUsesAt(twice, "a.s", 8), { name: "m", lines: [10, 11] });
  });

  it("stops at each call of the macro, says so, and refuses a macro nothing calls", async () => {
    const dir = mkdtempSync(join(tmpdir(), "afterburn-dap-macro-"));
    const file = join(dir, "marks.S");
    writeFileSync(file, GUEST);
    const c = suite.client();
    const { event, breakpoints } = await c.launch({ program: file }, { breakpoints: [{ path: file, lines: [3, 11] }] });
    const [body, never] = breakpoints[0];
    assert.equal(body.verified, true, body.message);
    assert.equal(body.line, 3, "shown on the line it was set on");
    assert.match(body.message ?? "", /in \.macro MARK: stops where it is used \(lines 16, 18, 19\)/);
    assert.equal(never.verified, false);
    assert.match(never.message ?? "", /line 11 is in \.macro NEVER, which nothing in marks\.S uses/);
    const lines: number[] = [];
    for (let e = event; e.event === "stopped"; e = await c.continue()) lines.push((await c.top()).line);
    assert.deepEqual(lines, [16, 18, 19]);
    assert.equal(c.output, "abxy\n");
  });
});
