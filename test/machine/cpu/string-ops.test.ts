// Long rep string instructions run in slices: the host is never held by one instruction, budgets
// and interrupts reach the middle of a copy, and the result is the same as one uninterrupted run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runGuest } from "./guest.js";
import { REP_SLICE } from "../../../machine/cpu/string-ops.js";

test("repnz scasl with ECX = 0xffffffff and no match ends each run within its budget, ECX counting down by slices", () => {
  // 8 MiB of RAM, the scan starts past it where every read is 0xffffffff: the instruction would
  // run 2^32 iterations if it were one step.
  const g = runGuest(`main:\n  mov $0x12345678, %eax\n  mov $0x900000, %edi\n  mov $0xffffffff, %ecx\n  cld\n  repnz scasl\n  hlt\n`, 0);
  const { cpu } = g;
  assert.equal(cpu.run(10_000).kind, "budget"); // the prologue, then the scan's first slices
  const scan = cpu.eip;
  const ecx0 = cpu.regs[1] >>> 0;
  assert.ok(ecx0 < 0xffffffff && (0xffffffff - ecx0) % REP_SLICE === 0, `ECX ${ecx0.toString(16)}`);
  const before = cpu.instructionCount;
  assert.equal(cpu.run(7).kind, "budget");
  assert.equal(cpu.instructionCount - before, 7);
  assert.equal(cpu.eip, scan, "EIP stays on the rep instruction between slices");
  assert.equal(cpu.regs[1] >>> 0, ecx0 - 7 * REP_SLICE);
  assert.equal(cpu.regs[7] >>> 0, (0x900000 + (0xffffffff - (cpu.regs[1] >>> 0)) * 4) >>> 0, "EDI follows ECX");
});

test("an NMI raised in the middle of rep outsb is taken between slices; the copy then resumes and completes in order", () => {
  const count = 2 * REP_SLICE + 1000;
  const RAISE_AT = REP_SLICE + 5; // inside the second slice
  for (const threshold of [Infinity, 0]) {
    const seen: number[] = [];
    let nmis = 0;
    const g = runGuest(
      `main:
  mov $nmi_handler, %eax
  mov %ax, idt+16
  shr $16, %eax
  mov %ax, idt+22
  mov $0x200000, %edi      # fill the source: byte k = k & 0xff
  xor %eax, %eax
1:
  mov %al, (%edi,%eax)
  inc %eax
  cmp $${count}, %eax
  jne 1b
  mov $0x200000, %esi
  mov $0x99, %dx
  mov $${count}, %ecx
  cld
  rep outsb
  hlt
nmi_handler:
  mov %ecx, 0x650           # where the copy stood when the NMI came
  incl 0x654
  iret
`,
      1_000_000,
      (cpu) => {
        cpu.compileThreshold = threshold;
        cpu.io = {
          read: () => 0xff,
          write: (port, _size, v) => {
            if (port !== 0x99) return;
            seen.push(v);
            if (seen.length === RAISE_AT) {
              nmis++;
              cpu.raiseNmi();
            }
          },
        };
      },
    );
    assert.equal(g.stop.kind, "halt");
    assert.equal(nmis, 1);
    assert.equal(g.rd(0x654), 1, "the handler ran once");
    assert.equal(g.rd(0x650), count - 2 * REP_SLICE, "taken at the end of the slice it was raised in");
    assert.equal(seen.length, count);
    assert.ok(seen.every((v, k) => v === (k & 0xff)), "every byte out once, in order");
    assert.equal(g.cpu.regs[1], 0);
  }
});

test("rep movsl and rep stosl longer than a slice copy and fill exactly: backward (element by element, sliced) and forward (page spans)", () => {
  const dwords = 5 * REP_SLICE + 3;
  // direction forward (bulk page spans) and backward (element-wise)
  for (const backward of [false, true]) {
    const g = runGuest(
      `main:
  mov $0x200000, %edi
  xor %eax, %eax
1:
  mov %eax, (%edi,%eax,4)
  inc %eax
  cmp $${dwords}, %eax
  jne 1b
  mov $${dwords}, %ecx
  ${backward ? `std\n  mov $${0x200000 + 4 * (dwords - 1)}, %esi\n  mov $${0x400000 + 4 * (dwords - 1)}, %edi` : "cld\n  mov $0x200000, %esi\n  mov $0x400000, %edi"}
  rep movsl
  mov $${dwords}, %ecx
  mov $0xabcdef01, %eax
  ${backward ? `mov $${0x600000 + 4 * (dwords - 1)}, %edi` : "mov $0x600000, %edi"}
  rep stosl
  cld
  hlt
`,
      1_000_000,
    );
    assert.equal(g.stop.kind, "halt", `backward=${backward}`);
    for (const k of [0, 1, REP_SLICE - 1, REP_SLICE, REP_SLICE + 1, dwords - 1]) {
      assert.equal(g.rd(0x400000 + 4 * k), k, `copy element ${k}, backward=${backward}`);
      assert.equal(g.rd(0x600000 + 4 * k) >>> 0, 0xabcdef01, `fill element ${k}, backward=${backward}`);
    }
    assert.equal(g.rd(0x400000 + 4 * dwords), 0, "nothing past the copy");
    assert.equal(g.rd(0x600000 + 4 * dwords), 0, "nothing past the fill");
  }
});

test("a breakpoint on a long rep stops once before it, not again at each slice; the next arrival stops again", () => {
  const count = 3 * REP_SLICE + 5;
  const g = runGuest(`main:\n  mov $2, %ebx\n1:\n  mov $${count}, %ecx\n  mov $${0x200000 + 4 * (count - 1)}, %edi\n  std\n  rep stosl\n  cld\n  dec %ebx\n  jnz 1b\n  hlt\n`, 0);
  const { cpu } = g;
  // find the rep stosl (f3 ab) in the image and break on it
  const image = cpu.readLinear(0x10000, 0x2000);
  let at = -1;
  for (let k = 0; k + 1 < image.length; k++) if (image[k] === 0xf3 && image[k + 1] === 0xab) at = 0x10000 + k;
  assert.ok(at > 0);
  cpu.breakpoints.add(at);
  for (let pass = 0; pass < 2; pass++) {
    const s = cpu.run(1_000_000);
    assert.equal(s.kind, "breakpoint", `pass ${pass}`);
    assert.equal(cpu.eip >>> 0, at);
    assert.equal(cpu.regs[1], count, "stopped before the first iteration");
  }
  assert.equal(cpu.run(1_000_000).kind, "halt", "the second pass's rep ran to its end without stopping again");
  assert.equal(cpu.regs[1], 0);
});
