// Contracts between the CPU and the platform (devices, boot, the machine run loop), and the
// hooks a platform layer (the wedge, the debugger) plugs into. machine/ imports nothing else
// of the project: the wedge translates core/isa records into InstructionForm values.

export type AccessSize = 1 | 2 | 4;

/** A device window in the physical address space (local APIC, I/O APIC, ...). Offsets are from the window base. */
export interface MmioHandler {
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** I/O port space as the CPU sees it. Unclaimed ports read as all ones and ignore writes. */
export interface PortBus {
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

/** The interrupt controller as the CPU sees it (8259A pair, or the local APIC when enabled). */
export interface InterruptController {
  /** A maskable interrupt is waiting (the INTR line). */
  hasPending(): boolean;
  /** The INTA cycle: returns the vector and puts it in service. */
  acknowledge(): number;
}

/**
 * An instruction form the platform wants to see before it executes (the catalogue's machine identity).
 * opcode: one-byte opcodes 0x00–0xff; two-byte 0F xx are 0x100 + xx; three-byte 0F 38 xx / 0F 3A xx are
 * 0x200 + xx / 0x300 + xx. reg/rm: ModRM fields for group and register-form encodings; mem: only the memory
 * (true) or register (false) form of ModRM. prefix: the mandatory prefix that selects the instruction (F3 0F 09
 * is wbnoinvd): the CPU reports the last F2/F3 before the opcode, else 66 when present; a hooked form without it
 * matches any prefixes.
 */
export interface InstructionForm {
  opcode: number;
  reg?: number;
  rm?: number;
  mem?: boolean;
  prefix?: number;
}

/** What a hook tells the CPU to do next. */
export type HookResult =
  /** Execute the instruction (or deliver the exception) normally. */
  | "continue"
  /** The hook emulated it and updated EIP and state itself: go on with the next instruction. */
  | "handled"
  /** Stop the run before the instruction executes / the exception is delivered (StopReason "hook"). */
  | "stop";

export interface ExceptionInfo {
  vector: number;
  /** Error code pushed for #DF, #TS, #NP, #SS, #GP, #PF, #AC; undefined otherwise. */
  errorCode?: number;
  /** EIP of the faulting instruction (faults) or of the next one (traps). */
  eip: number;
  /** CR2 value for #PF. */
  faultAddress?: number;
  /** True for int n / int3 / into (software interrupts) — reported too, so a VMM can see them. */
  software: boolean;
}

export interface CpuHooks {
  /**
   * Called before an instruction whose form is in the hooked set (see Cpu.setHookedForms), with EIP
   * already past it: "handled" (the hook did its work) resumes after the instruction as it is.
   */
  beforeInstruction?(form: InstructionForm, eip: number, length: number): HookResult;
  /** Called before a fault, trap or software interrupt is delivered through the guest IDT: a VMM sees #GP first. */
  onException?(info: ExceptionInfo): HookResult;
  /**
   * Called when EIP (linear) enters a registered entry range (the wedge's entry region), before fetching.
   * The handler must change EIP (e.g. emulate a `ret`) and return "handled", or return "stop".
   */
  onEntry?(eip: number): HookResult;
}
