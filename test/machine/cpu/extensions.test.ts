// Catalogued instructions of extensions the processor model does not offer (xsetbv, monitor, clac, invpcid,
// wbnoinvd ...): #UD at every CPL, before any privilege check, as on a CPU without them — the wedge's trap and
// VT-x models count on it. Their forms still reach the hooks, mandatory prefix and three-byte opcode included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CATALOGUE } from "../../../core/isa/index.js";
import { CPUID_EXTENSIONS } from "../../../machine/cpu/system.js";
import type { InstructionForm } from "../../../machine/bus.js";
import { runGuest, toUser, V } from "./guest.js";

const missing = CATALOGUE.filter((e) => e.feature !== undefined && !CPUID_EXTENSIONS.has(e.feature) && e.example.att32);

test("the catalogue's feature-gated instructions are #UD at CPL 0 and CPL 3 (none of their features is offered)", () => {
  assert.ok(missing.length >= 9, `feature-gated IA-32 entries: ${missing.map((e) => e.id)}`);
  for (const e of missing) {
    const ring0 = runGuest(`main:\n  ${e.example.att32}\n  hlt\n`);
    assert.equal(ring0.rd(V.vec), 6, `${e.id} at CPL 0`);
    // A fault: the frame's EIP is the instruction itself (0F .., or its 66/F3 prefix), not the hlt after it.
    assert.ok([0x0f, 0x66, 0xf3].includes(ring0.mem.read8(ring0.rd(V.eip))), `${e.id}: #UD reported at the instruction`);
    const ring3 = runGuest(`main:\n${toUser("user")}\nuser:\n  ${e.example.att32}\n  hlt\n`);
    assert.equal(ring3.rd(V.vec), 6, `${e.id} at CPL 3: #UD, not #GP`);
  }
});

test("wbinvd without F3 still runs at CPL 0 and is #GP at CPL 3", () => {
  assert.equal(runGuest(`main:\n  wbinvd\n  movl $7, ${V.out}\n  hlt\n`).rd(V.out), 7);
  assert.equal(runGuest(`main:\n${toUser("user")}\nuser:\n  wbinvd\n  hlt\n`).rd(V.vec), 13);
});

test("hooks see the mandatory prefix and 0F 38 opcodes: F3 0F 09 is not 0F 09, 66 0F 38 82 is invpcid", () => {
  const seen: InstructionForm[] = [];
  runGuest(`main:\n  wbinvd\n  wbnoinvd\n  hlt\n`, 1000, (cpu) => {
    cpu.setHookedForms([{ opcode: 0x109, prefix: 0xf3 }]);
    cpu.hooks.beforeInstruction = (form) => (seen.push(form), "continue");
  });
  assert.deepEqual(seen, [{ opcode: 0x109, reg: 0, rm: 0, mem: false, prefix: 0xf3 }]);
  const invpcid: InstructionForm[] = [];
  const g = runGuest(`main:\n  invpcid (%eax), %ebx\n  hlt\n`, 1000, (cpu) => {
    cpu.setHookedForms([{ opcode: 0x282, prefix: 0x66, mem: true }]);
    cpu.hooks.beforeInstruction = (form, _eip, length) => {
      assert.equal(length, 5);
      invpcid.push(form);
      return "continue";
    };
  });
  assert.deepEqual(invpcid, [{ opcode: 0x282, reg: 3, rm: 0, mem: true, prefix: 0x66 }]);
  assert.equal(g.rd(V.vec), 6, "then #UD");
});
