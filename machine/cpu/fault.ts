// Guest exceptions as host control flow: instruction code throws a CpuFault, the run loop catches
// it and delivers it through the guest IDT. Never escapes Cpu.run.

export const enum Vec {
  DE = 0,
  DB = 1,
  NMI = 2,
  BP = 3,
  OF = 4,
  BR = 5,
  UD = 6,
  NM = 7,
  DF = 8,
  TS = 10,
  NP = 11,
  SS = 12,
  GP = 13,
  PF = 14,
  MF = 16,
  AC = 17,
}

export class CpuFault {
  constructor(
    readonly vector: number,
    readonly errorCode: number | undefined,
    readonly faultAddress?: number,
    /**
     * Raised after a task switch committed: the CPU already holds the new task, so its EIP (not
     * the start of the instruction that switched) is where the fault is reported.
     */
    readonly inNewTask = false,
  ) {}
}

/** Vectors that push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

export function fault(vector: number, errorCode?: number): never {
  throw new CpuFault(vector, hasErrorCode(vector) ? (errorCode ?? 0) : undefined);
}

export const gp = (code = 0): never => fault(Vec.GP, code);
export const ud = (): never => fault(Vec.UD);

/** Contributory exceptions (for the double-fault rule). */
export function isContributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}
