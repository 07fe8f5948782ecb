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

  /**
   * Runs the case twice: interpreted (compileThreshold Infinity, stopping at a breakpoint after the
   * case's last byte) and compiled (every block compiled on first execution, ending at a `hlt`
   * written after the last byte, so no breakpoint check splits the blocks). The interpreted state is
   * what the harness compares with the native CPU; any difference between the two runs is a problem.
   */
  run(c: Case, code: NativeCaseCode): EmulatorResult {
    const interpreted = this.runOnce(c, code, false);
    const compiled = this.runOnce(c, code, true);
    if (!interpreted.problem) {
      const diff = compareStates(interpreted.state, compiled.state);
      if (compiled.problem) interpreted.problem = `compiled blocks: ${compiled.problem}`;
      else if (diff) interpreted.problem = `compiled blocks differ from the interpreter: ${diff}`;
    }
    return interpreted;
  }

  private runOnce(c: Case, code: NativeCaseCode, compiled: boolean): EmulatorResult {
    const { cpu, memory } = this;
    const end = code.address + code.bytes.length;
    let exception: ExceptionInfo | null = null;
    let problem: string | null = null;
    memory.writeBytes(code.address, code.bytes);
    memory.writeBytes(end, new Uint8Array([0xf4])); // hlt: ends the compiled run (the interpreted one stops before it)
    memory.writeBytes(MEM_BASE, c.mem);
    cpu.reset();
    cpu.compileThreshold = compiled ? 0 : Infinity;
    cpu.enterFlatProtectedMode(code.address);
    for (let r = 0; r < 8; r++) cpu.regs[r] = c.regs[r]! | 0;
    cpu.setEflags(c.eflags);
    cpu.breakpoints.clear();
    if (!compiled) cpu.breakpoints.add(end);
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
      } else if (compiled ? stop.kind !== "halt" || cpu.eip !== end + 1 : stop.kind !== "breakpoint" || stop.eip !== end) {
        problem = `run stopped with ${JSON.stringify(stop)} at eip 0x${(cpu.eip >>> 0).toString(16)}, expected the ${compiled ? "hlt" : "breakpoint"} at 0x${end.toString(16)}`;
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

function compareStates(a: MachineState, b: MachineState): string | null {
  for (let r = 0; r < 8; r++) if (a.regs[r] !== b.regs[r]) return `register ${r}: 0x${a.regs[r]!.toString(16)} vs 0x${b.regs[r]!.toString(16)}`;
  if (a.eflags !== b.eflags) return `eflags 0x${a.eflags.toString(16)} vs 0x${b.eflags.toString(16)}`;
  for (let k = 0; k < a.mem.length; k++) if (a.mem[k] !== b.mem[k]) return `memory byte ${k}: 0x${a.mem[k]!.toString(16)} vs 0x${b.mem[k]!.toString(16)}`;
  return null;
}
