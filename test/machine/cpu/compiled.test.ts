// Compiled blocks (machine/cpu/compile.ts) against the interpreter, and the run-loop guarantees the
// wedge and the debugger rely on: hooks inside hot loops, self-modifying code, exact budgets,
// breakpoints inside compiled blocks, requestStop, faults in the middle of a block.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble, makeMachine, runGuest, V, CODE_BASE } from "./guest.js";
import type { Cpu } from "../../../machine/cpu/cpu.js";

/** Run the same code interpreted (never compiled) and compiled on first execution. */
function both(code: Uint8Array, budget: number, setup?: (cpu: Cpu) => void): { interp: Cpu; jit: Cpu } {
  const out: Cpu[] = [];
  for (const threshold of [Infinity, 0]) {
    const { cpu } = makeMachine(code);
    cpu.compileThreshold = threshold;
    setup?.(cpu);
    cpu.run(budget);
    out.push(cpu);
  }
  return { interp: out[0], jit: out[1] };
}

function state(cpu: Cpu, from: number, length: number): unknown {
  return {
    regs: Array.from(cpu.regs),
    eip: cpu.eip,
    eflags: cpu.getEflags(),
    count: cpu.instructionCount,
    mem: Array.from(cpu.readLinear(from, length)),
  };
}

test("a jcc folded with its flag producer takes the same branch as the lazy flags, for every condition", () => {
  const values = [0, 1, 2, -1, -2, 0x7fffffff, -0x80000000, 0x12345678, 5];
  const producers = ["cmp %ebx, %eax", "sub %ebx, %eax", "add %ebx, %eax", "and %ebx, %eax", "or %ebx, %eax", "xor %ebx, %eax", "test %ebx, %eax", "dec %eax", "inc %eax", "cmp $5, %eax", "cmpb %bl, %al"];
  const conds = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
  const lines = [".code32", "  mov $0x200000, %edi"];
  let n = 0;
  for (const p of producers)
    for (const a of values)
      for (const b of values)
        for (const c of conds) {
          lines.push(
            `  mov $${a}, %eax`,
            `  mov $${b}, %ebx`,
            "  xor %edx, %edx",
            `  ${p}`,
            `  j${c} 1f`,
            "  mov $1, %edx",
            "1:",
            `  mov %edx, ${n * 8}(%edi)`,
            "  pushf",
            `  popl ${n * 8 + 4}(%edi)`,
          );
          n++;
        }
  lines.push("  hlt");
  const code = assemble(lines.join("\n"));
  const { interp, jit } = both(code, 10_000_000);
  assert.equal(interp.halted, true);
  assert.deepEqual(state(jit, 0x200000, n * 8), state(interp, 0x200000, n * 8));
});

test("compiled and interpreted runs agree instruction for instruction on a mixed loop at every budget", () => {
  const code = assemble(`.code32
  mov $0x80000, %esp
  mov $0x200000, %edi
  xor %ecx, %ecx
  mov $7, %ebx
1:
  imul $1103515245, %ebx, %ebx
  add $12345, %ebx
  mov %ebx, %eax
  shr $16, %eax
  xor %eax, (%edi,%ecx,4)
  add (%edi,%ecx,4), %edx
  movzbl %al, %esi
  movsbl %bl, %ebp
  sar $3, %ebp
  shl $1, %esi
  push %esi
  call f
  pop %esi
  test $1, %al
  jz 2f
  incl (%edi)
2:
  inc %ecx
  and $0x3ff, %ecx
  cmp $0x7fffffff, %edx
  jne 1b
  hlt
f:
  push %ebp
  mov %esp, %ebp
  mov 8(%ebp), %eax
  lea 3(%eax,%eax,2), %eax
  adc %eax, %edx
  pop %ebp
  ret
`);
  for (const budget of [1, 2, 3, 7, 64, 65, 1000, 12345, 200_001]) {
    const { interp, jit } = both(code, budget);
    assert.equal(jit.instructionCount, budget);
    assert.deepEqual(state(jit, 0x200000, 4096), state(interp, 0x200000, 4096), `budget ${budget}`);
  }
  // the same in many small slices (the machine runs the CPU up to the next timer event)
  const { interp, jit } = both(code, 0, (cpu) => {
    for (let k = 1; k < 400; k++) cpu.run((k * 37) % 101);
  });
  assert.deepEqual(state(jit, 0x200000, 4096), state(interp, 0x200000, 4096));
});

test("a hooked form inside a hot loop fires on every iteration after its block is compiled", () => {
  const code = assemble(`.code32
  mov $1000, %ecx
1:
  add $2, %eax
  cli
  add $3, %ebx
  dec %ecx
  jnz 1b
  hlt
`);
  for (const threshold of [0, 2, Infinity]) {
    const { cpu } = makeMachine(code);
    cpu.compileThreshold = threshold;
    cpu.setHookedForms([{ opcode: 0xfa }]);
    const eips = new Set<number>();
    let fired = 0;
    cpu.hooks.beforeInstruction = (form, eip) => {
      assert.equal(form.opcode, 0xfa);
      assert.equal(cpu.regs[0], 2 * (fired + 1), "the add before the cli has executed, the add after it not yet");
      assert.equal(cpu.regs[3], 3 * fired);
      eips.add(eip);
      fired++;
      return "continue";
    };
    assert.equal(cpu.run(100_000).kind, "halt");
    assert.equal(fired, 1000, `threshold ${threshold}`);
    assert.deepEqual([...eips], [CODE_BASE + 8]);
    assert.equal(cpu.instructionCount, 1 + 5 * 1000 + 1);
  }
});

test("a hook that stops inside a compiled block leaves EIP at the hooked instruction and the count exact", () => {
  const code = assemble(`.code32
1:
  inc %eax
  cli
  inc %ebx
  jmp 1b
`);
  const { cpu } = makeMachine(code);
  cpu.compileThreshold = 0;
  cpu.setHookedForms([{ opcode: 0xfa }]);
  let calls = 0;
  cpu.hooks.beforeInstruction = () => (++calls === 50 ? "stop" : "continue");
  assert.equal(cpu.run(1_000_000).kind, "hook");
  assert.equal(cpu.eip, CODE_BASE + 1);
  assert.equal(cpu.regs[0], 50);
  assert.equal(cpu.regs[3], 49);
  assert.equal(cpu.instructionCount, 49 * 4 + 1);
});

test("writing into a compiled block takes effect on its next execution (self-modifying code)", () => {
  // The loop body's `add $1, %ebx` immediate is patched from inside the loop after 100 iterations.
  const code = assemble(`.code32
  mov $300, %ecx
1:
patch:
  add $1, %ebx
  cmp $200, %ecx
  jne 2f
  movb $10, patch+2
2:
  dec %ecx
  jnz 1b
  hlt
`);
  for (const threshold of [0, 2, Infinity]) {
    const { cpu } = makeMachine(code);
    cpu.compileThreshold = threshold;
    assert.equal(cpu.run(100_000).kind, "halt");
    assert.equal(cpu.regs[3], 101 + 199 * 10, `threshold ${threshold}`);
  }
  // a write to the block being executed ends it after the writing instruction
  const self = assemble(`.code32
  mov $0x90, %al
  movb %al, 1f
  mov $5, %ebx
1:
  inc %ebx
  inc %ebx
  hlt
`);
  for (const threshold of [0, Infinity]) {
    const { cpu } = makeMachine(self);
    cpu.compileThreshold = threshold;
    assert.equal(cpu.run(100).kind, "halt");
    assert.equal(cpu.regs[3], 6, "the first inc became a nop");
  }
});

test("host writes (the wedge's load-time rewriting) invalidate compiled blocks", () => {
  const code = assemble(`.code32
1:
site:
  add $1, %eax
  nop
  nop
  nop
  jmp 1b
`);
  const { cpu } = makeMachine(code);
  cpu.compileThreshold = 0;
  cpu.run(500);
  const before = cpu.regs[0];
  // rewrite the site into `add $7, %eax` padded with nops, as a rewriter would
  cpu.writeLinear(CODE_BASE, new Uint8Array([0x83, 0xc0, 0x07]));
  cpu.run(500);
  assert.equal(cpu.regs[0], before + 7 * 100);
});

test("breakpoints inside a hot compiled block stop exactly at the instruction", () => {
  const code = assemble(`.code32
1:
  inc %eax
  inc %ebx
bp:
  inc %esi
  inc %edi
  jmp 1b
`);
  const { cpu } = makeMachine(code);
  cpu.compileThreshold = 0;
  cpu.run(5000); // hot and compiled
  const n0 = cpu.instructionCount;
  const bp = CODE_BASE + 2;
  cpu.breakpoints.add(bp);
  const st = cpu.run(1000);
  assert.deepEqual(st, { kind: "breakpoint", eip: bp });
  assert.equal(cpu.eip, bp);
  assert.equal(cpu.regs[0], cpu.regs[3], "eax, ebx incremented");
  assert.equal(cpu.regs[6], cpu.regs[7], "esi, edi not yet");
  assert.equal(cpu.regs[0], cpu.regs[6] + 1);
  // single-step through the compiled block
  for (let k = 0; k < 5; k++) assert.equal(cpu.run(1).kind, "budget");
  assert.equal(cpu.eip, bp);
  assert.ok(cpu.instructionCount > n0);
  cpu.breakpoints.clear();
  assert.equal(cpu.run(100).kind, "budget");
});

test("requestStop from a device inside a hot loop takes effect within one block", () => {
  const code = assemble(`.code32
1:
  inc %eax
  out %al, $0x80
  inc %ebx
  inc %ebx
  jmp 1b
`);
  const { cpu } = makeMachine(code);
  cpu.compileThreshold = 0;
  let writes = 0;
  cpu.io = {
    read: () => 0xff,
    write: () => {
      if (++writes === 100) cpu.requestStop();
    },
  };
  assert.equal(cpu.run(1_000_000).kind, "requested");
  assert.ok(cpu.instructionCount - (99 * 5 + 2) <= 5, `stopped after ${cpu.instructionCount} instructions`);
});

test("a fault in the middle of a compiled block reports the faulting instruction and exact count", () => {
  // DS becomes the prologue's 4 KiB data segment; the loop's read walks past its limit (#GP).
  const body = `main:
  movl $next, ${V.resume}
  mov $0x38, %ax
  mov %ax, %ds
  mov $0, %ecx
1:
  inc %eax
  mov (%ecx), %edx
  add $1, %ebx
  add $0x100, %ecx
  jmp 1b
next:
  hlt
`;
  const results: unknown[] = [];
  for (const threshold of [Infinity, 0]) {
    const g = runGuest(body, 1_000_000, (cpu) => {
      cpu.compileThreshold = threshold;
    });
    assert.equal(g.rd(V.vec), 13);
    results.push({ regs: Array.from(g.cpu.regs), count: g.cpu.instructionCount, eip: g.cpu.eip, at: g.rd(V.eip), flags: g.rd(V.eflags) });
  }
  assert.deepEqual(results[1], results[0]);
  assert.equal((results[0] as { regs: number[] }).regs[0], 0x38 + 17, "16 reads succeeded, the 17th faulted");
});

test("an MMIO handler sees the accessing instruction's EIP and count inside compiled blocks, as when interpreted", () => {
  // The wedge attributes each access to its vCPU window to the rewritten site that made it.
  const code = assemble(`.code32
  mov $100, %ecx
1:
  mov 0xfe000000, %eax
  add $1, %ebx
  andb $0xfd, 0xfe000001
  movl %ebx, 0xfe000008
  dec %ecx
  jnz 1b
  hlt
`);
  const seen: string[][] = [];
  for (const threshold of [Infinity, 0]) {
    const { cpu, mem } = makeMachine(code);
    cpu.compileThreshold = threshold;
    const log: string[] = [];
    const note = (what: string, offset: number) => log.push(`${what}@${offset} eip=${cpu.curEip.toString(16)} n=${cpu.instructionCount}`);
    mem.mapMmio(0xfe000000, 0x1000, {
      read: (offset) => (note("r", offset), 0),
      write: (offset) => note("w", offset),
    });
    assert.equal(cpu.run(10_000).kind, "halt");
    seen.push(log);
  }
  assert.equal(seen[0].length, 400);
  assert.deepEqual(seen[1], seen[0]);
});
