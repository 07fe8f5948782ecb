// Runs a case on the bundled emulator from the same state and at the same linear addresses as the
// native program: flat protected mode, code at the address GNU as/ld gave it, the buffer at MEM_BASE.

import type { ExceptionInfo } from "../../../machine/bus.js";
import { Cpu } from "../../../machine/cpu/cpu.js";
import { PhysicalMemory } from "../../../machine/memory.js";
import { type Case, MEM_BASE, MEM_SIZE } from "./generator.js";
import type { MachineState, NativeCaseCode } from "./native.js";

/** RAM large enough for the buffer (1 MiB) and every batch's code (2 MiB upwards). */
const RAM_SIZE = 8 << 20;
/** Far more than any case executes (at most a few dozen instructions, string ops up to 16 iterations). */
const BUDGET = 10_000;

export interface EmulatorResult {
  state: MachineState;
  /** Why the run did not end at the case's end, or null when it did. */
  problem: string | null;
}

export class EmulatorRunner {
  private readonly memory = new PhysicalMemory(RAM_SIZE);
  private readonly cpu = new Cpu(this.memory);

  run(c: Case, code: NativeCaseCode): EmulatorResult {
    const { cpu, memory } = this;
    const end = code.address + code.bytes.length;
    let exception: ExceptionInfo | null = null;
    let problem: string | null = null;
    memory.writeBytes(code.address, code.bytes);
    memory.writeBytes(MEM_BASE, c.mem);
    cpu.reset();
    cpu.enterFlatProtectedMode(code.address);
    for (let r = 0; r < 8; r++) cpu.regs[r] = c.regs[r]! | 0;
    cpu.setEflags(c.eflags);
    cpu.breakpoints.clear();
    cpu.breakpoints.add(end);
    cpu.hooks = {
      onException: (info) => {
        exception ??= info;
        return "stop";
      },
    };
    try {
      const stop = cpu.run(BUDGET);
      if (exception !== null) {
        const e: ExceptionInfo = exception;
        problem = `exception vector ${e.vector}${e.errorCode !== undefined ? ` (error code 0x${e.errorCode.toString(16)})` : ""} at 0x${(e.eip >>> 0).toString(16)}`;
      } else if (stop.kind !== "breakpoint" || stop.eip !== end) {
        problem = `run stopped with ${JSON.stringify(stop)} at eip 0x${(cpu.eip >>> 0).toString(16)}, expected the breakpoint at 0x${end.toString(16)}`;
      }
    } catch (e) {
      problem = `emulator threw into the host: ${e instanceof Error ? (e.stack ?? e.message).split("\n").slice(0, 4).join(" | ") : String(e)}`;
    }
    const regs: number[] = [];
    for (let r = 0; r < 8; r++) regs.push(cpu.regs[r]! >>> 0);
    return {
      state: { regs, eflags: cpu.getEflags() >>> 0, mem: memory.readBytes(MEM_BASE, MEM_SIZE) },
      problem,
    };
  }
}
