// Hooks, breakpoints, single-step, snapshots, and random code execution (the host never sees a throw).
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble, makeMachine, prologue, runGuest, toUser, V, CODE_BASE } from "./guest.js";
import { Cpu } from "../../../machine/cpu/cpu.js";
import { PhysicalMemory } from "../../../machine/memory.js";

test("beforeInstruction sees only hooked forms; 'handled' skips, 'stop' stops before the instruction", () => {
  const seen: number[] = [];
  const g = runGuest(`main:\n  cli\n  nop\n  cli\n  mov $7, %eax\n  sti\n  hlt\n`, 1000, (cpu) => {
    cpu.setHookedForms([{ opcode: 0xfa }]);
    cpu.hooks.beforeInstruction = (form, eip, len) => {
      seen.push(form.opcode);
      assert.equal(len, 1);
      cpu.eip = eip + len; // emulate: skip
      return "handled";
    };
  });
  assert.deepEqual(seen, [0xfa, 0xfa]);
  assert.equal(g.stop.kind, "halt");
  const stops = runGuest(`main:\n  mov $1, %eax\n  cli\n  mov $2, %eax\n  hlt\n`, 1000, (cpu) => {
    cpu.setHookedForms([{ opcode: 0xfa }]);
    cpu.hooks.beforeInstruction = () => "stop";
  });
  assert.equal(stops.stop.kind, "hook");
  assert.equal(stops.cpu.regs[0], 1);
  assert.equal(stops.mem.read8(stops.cpu.eip), 0xfa, "stopped before the cli");
});

test("onException sees #GP before IDT delivery; 'handled' means the VMM emulated it", () => {
  const infos: number[] = [];
  const g = runGuest(`main:\n${toUser("user")}\nuser:\n  cli\n  mov $9, %eax\n  mov %eax, ${V.out}\n  ud2\n`, 1000, (cpu) => {
    cpu.hooks.onException = (info) => {
      infos.push(info.vector);
      if (info.vector === 13) {
        assert.equal(cpu.readLinear(info.eip, 1)[0], 0xfa);
        cpu.eip = info.eip + 1;
        return "handled";
      }
      return "continue";
    };
  });
  assert.deepEqual(infos, [13, 6]);
  assert.equal(g.rd(V.out), 9);
  assert.equal(g.rd(V.vec), 6, "#UD still delivered through the IDT");
  assert.equal(g.rd(V.count), 1);
});

test("onEntry fires when EIP enters a registered range", () => {
  const g = runGuest(`main:\n  mov $0x30000, %eax\n  call *%eax\n  mov %ebx, ${V.out}\n  hlt\n`, 1000, (cpu) => {
    cpu.setEntryRanges([{ start: 0x30000, end: 0x30010 }]);
    cpu.hooks.onEntry = (eip) => {
      assert.equal(eip, 0x30000);
      cpu.regs[3] = 0x5151;
      cpu.eip = cpu.readLinear(cpu.regs[4] >>> 0, 4).reduce((a, b, k) => a + b * 2 ** (8 * k), 0);
      cpu.regs[4] += 4; // emulate ret
      return "handled";
    };
  });
  assert.equal(g.stop.kind, "halt");
  assert.equal(g.rd(V.out), 0x5151);
});

test("breakpoints stop before the instruction and resume past it; run(1) single-steps", () => {
  const code = assemble(`.code32\n  mov $1, %eax\n  mov $2, %ebx\nbp:\n  mov $3, %ecx\n  hlt\n`);
  const { cpu } = makeMachine(code);
  const bp = CODE_BASE + 10;
  cpu.breakpoints.add(bp);
  const s1 = cpu.run(100);
  assert.deepEqual(s1, { kind: "breakpoint", eip: bp });
  assert.equal(cpu.regs[1], 0);
  assert.equal(cpu.instructionCount, 2);
  assert.equal(cpu.run(1).kind, "budget");
  assert.equal(cpu.regs[1], 3);
  assert.equal(cpu.instructionCount, 3);
  assert.equal(cpu.run(100).kind, "halt");
});

test("snapshot/restore of CPU and RAM replays identically", () => {
  const src = prologue() + `
main:
  mov $0x200000, %edi
  xor %ecx, %ecx
1:
  imul $1103515245, %ebx, %ebx
  add $12345, %ebx
  mov %ebx, (%edi,%ecx,4)
  inc %ecx
  and $0xfff, %ecx
  jmp 1b
sys80:
sys81:
gate_target:
  hlt
`;
  const { cpu, mem } = makeMachine(assemble(src));
  cpu.run(5000);
  const cs = JSON.parse(JSON.stringify(cpu.snapshot()));
  const ms = mem.takeSnapshot();
  cpu.run(20000);
  const after1 = { regs: Array.from(cpu.regs), n: cpu.instructionCount, ram: mem.readBytes(0x200000, 0x4000) };
  mem.restoreSnapshot(ms);
  cpu.restore(cs);
  assert.equal(cpu.instructionCount, cs.instructionCount);
  cpu.run(20000);
  assert.deepEqual(Array.from(cpu.regs), after1.regs);
  assert.equal(cpu.instructionCount, after1.n);
  assert.deepEqual(mem.readBytes(0x200000, 0x4000), after1.ram);
});

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

// Fixed seeds, so no run fails by chance; CPU_FUZZ_SEED runs another. Seed 8 holds a
// `repnz scasl` with ECX = 0xffffffff that kept run(3000) busy for hours; 69619 hung a CI run the same way.
const FUZZ_SEEDS = process.env.CPU_FUZZ_SEED ? [Number(process.env.CPU_FUZZ_SEED)] : [8, 69619];

for (const seed of FUZZ_SEEDS) {
  test(`random code at CPL 0 and CPL 3 (seed ${seed}): guest faults stay guest events, runs end within budget`, () => {
    const rnd = prng(seed);
    const base = prologue() + `\nsys80:\nsys81:\ngate_target:\n  hlt\n`;
    const ring0 = assemble(base + `main:\n  movl $0x40000, ${V.resume}\n  jmp 0x40000\n`);
    const ring3 = assemble(base + `main:\n  movl $0x40000, ${V.resume}\n${toUser("0x40000")}\n`);
    const mem = new PhysicalMemory(4 << 20);
    const cpu = new Cpu(mem);
    let faults = 0;
    for (let n = 0; n < 300; n++) {
      const img = n & 1 ? ring3 : ring0;
      mem.ram.fill(0);
      cpu.flushCodeCache();
      mem.writeBytes(CODE_BASE, img);
      const junk = new Uint8Array(4096);
      for (let k = 0; k < junk.length; k++) junk[k] = rnd() & 0xff;
      mem.writeBytes(0x40000, junk);
      cpu.reset();
      cpu.enterFlatProtectedMode(CODE_BASE);
      cpu.io = { read: () => 0xff, write: () => {} };
      const before = cpu.instructionCount;
      let stop;
      try {
        stop = cpu.run(3000);
      } catch (e) {
        assert.fail(`seed ${seed} case ${n}: host exception ${(e as Error).stack}`);
      }
      assert.ok(cpu.instructionCount - before <= 3000, `seed ${seed} case ${n}: budget overrun`);
      assert.ok(["budget", "halt", "triple-fault"].includes(stop.kind), `seed ${seed} case ${n}: ${stop.kind}`);
      faults += mem.read32(V.count);
    }
    assert.ok(faults > 0, "random code raised guest exceptions");
  });
}
