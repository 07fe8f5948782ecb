// The trap backend emulates some instructions itself (the holes of sensitive-unprivileged ones, mov to
// CR3/CR0 for shadow paging): each must resume right after the instruction, also in code without the
// afterburner's padding, which used to hide an EIP moved forward twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTiny, runTiny, STACK } from "../tiny.js";

test("trap: an emulated pushf in unpadded code resumes at the next instruction (the popl after it runs)", () => {
  const dir = mkdtempSync(join(tmpdir(), "trap-"));
  try {
    // pushf after cli is a hole on trap (the VMM shows IF=1): the backend pushes and skips it itself.
    const text = `\t.text\n\t.globl _start\n_start:\n${STACK}\tcli\n\tpushfl\n\tpopl %ebx\n\tmovl %esp, %eax\n\tsubl $0x90000, %eax\n\toutl %eax, $0xf4\n`;
    const plain = buildTiny(dir, "pushf", text, { burn: false });
    for (const backend of ["raw", "trap"] as const) {
      const r = runTiny(plain, backend);
      assert.equal(r.reason, "exit", `${backend}: ${r.reason}`);
      assert.equal(r.exit, 0, `${backend}: ESP back where it was (the popl ran)`);
    }
    const trap = runTiny(plain, "trap");
    assert.equal(trap.guest.ledger.report(trap.guest.machine.cpu.instructionCount).events.hole?.count, 1, "the pushf was the backend's to emulate");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
