// Interrupt and exception delivery: the onException hook, real-mode IVT, protected-mode IDT
// with interrupt/trap gates and the TSS stack switch, task gates (a task switch, task.ts), and the
// double/triple-fault rules.
//
// Triple fault: Cpu.shutdown records the chain of faults raised: [first, second (raised while
// delivering the first, which made the #DF), third (raised while delivering the #DF)].

import type { Cpu } from "./cpu.js";
import { CpuFault, hasErrorCode, isContributory, Vec } from "./fault.js";
import { IF, materialize, AC } from "./flags.js";
import {
  checkTssStack,
  descDpl,
  descPresent,
  INT_CLEAR,
  isCode,
  isConforming,
  loadDescriptorOrGp,
  pushOnNewStack,
  setSegFromDesc,
  sysType,
  tssStack,
} from "./segmentation.js";
import { taskGateInterrupt } from "./task.js";

/**
 * Deliver `vector` now. `software`: int n / int3 / into (gate DPL is checked; EIP already points
 * after the instruction). For faults the caller has set EIP to the faulting instruction.
 */
export function deliverException(cpu: Cpu, vector: number, errorCode: number | undefined, software: boolean, faultAddress?: number): void {
  cpu.interruptsDelivered++;
  const h = cpu.hooks.onException;
  if (h) {
    const r = h({ vector, errorCode, eip: cpu.eip, faultAddress, software });
    if (r === "handled") {
      cpu.breakBlock = true;
      return;
    }
    if (r === "stop") {
      cpu.stopReason = { kind: "hook" };
      cpu.breakBlock = true;
      return;
    }
  }
  cpu.halted = false;
  deliverNested(cpu, vector, errorCode, software, software ? 0 : 1, [vector]);
}

/** An external interrupt (or one injected by the wedge): no DPL check, EXT set in error codes. */
export function deliverExternal(cpu: Cpu, vector: number, errorCode: number | undefined): void {
  cpu.halted = false;
  deliverNested(cpu, vector, errorCode, false, 1, [vector]);
}

function deliverNested(cpu: Cpu, vector: number, errorCode: number | undefined, software: boolean, ext: number, chain: number[]): void {
  try {
    deliverThroughTable(cpu, vector, errorCode, software, ext);
    cpu.breakBlock = true;
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    // the fault belongs to the int instruction, unless a task switch already committed to the new task
    if (software && !e.inNewTask) cpu.eip = cpu.curEip;
    if (e.vector === Vec.PF && e.faultAddress !== undefined) cpu.cr[2] = e.faultAddress;
    const second = e.vector;
    const chain2 = [...chain, second];
    if (vector === Vec.DF && !software) {
      cpu.shutdown = { eip: cpu.eip, vectors: chain2 };
      cpu.halted = true;
      cpu.breakBlock = true;
      return;
    }
    const first = software ? -1 : vector;
    const dbl = (isContributory(first) && isContributory(second)) || (first === Vec.PF && (isContributory(second) || second === Vec.PF));
    if (dbl) {
      if (!notifyHook(cpu, Vec.DF, 0)) return;
      deliverNested(cpu, Vec.DF, 0, false, 1, chain2);
    } else {
      if (!notifyHook(cpu, second, e.errorCode, e.faultAddress)) return;
      deliverNested(cpu, second, e.errorCode, false, 1, chain2);
    }
  }
}

/** Tell the hook about a nested exception; false when it handled or stopped it. */
function notifyHook(cpu: Cpu, vector: number, errorCode: number | undefined, faultAddress?: number): boolean {
  const h = cpu.hooks.onException;
  if (!h) return true;
  const r = h({ vector, errorCode: hasErrorCode(vector) ? (errorCode ?? 0) : undefined, eip: cpu.eip, faultAddress, software: false });
  if (r === "continue") return true;
  if (r === "stop") cpu.stopReason = { kind: "hook" };
  cpu.breakBlock = true;
  return false;
}

function deliverThroughTable(cpu: Cpu, vector: number, errorCode: number | undefined, software: boolean, ext: number): void {
  materialize(cpu);
  if (!cpu.protectedMode) {
    deliverReal(cpu, vector);
    return;
  }
  const idtr = cpu.idtr;
  const gateErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > idtr.limit) throw new CpuFault(Vec.GP, gateErr);
  const addr = (idtr.base + vector * 8) >>> 0;
  const lo = cpu.sysRead32(addr);
  const hi = cpu.sysRead32(addr + 4);
  const gate = { lo, hi, addr };
  const type = (hi >>> 8) & 0x1f; // S bit + type
  if (type !== 0x06 && type !== 0x07 && type !== 0x0e && type !== 0x0f && type !== 0x05) throw new CpuFault(Vec.GP, gateErr);
  if (software && descDpl(gate) < cpu.cpl) throw new CpuFault(Vec.GP, gateErr);
  if (!descPresent(gate)) throw new CpuFault(Vec.NP, gateErr);
  if (type === 0x05) {
    taskGateInterrupt(cpu, gate, errorCode, ext);
    return;
  }
  const size = sysType(gate) & 8 ? 4 : 2;
  const trapGate = (type & 1) !== 0;
  const sel = lo >>> 16;
  const offset = size === 4 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
  if ((sel & 0xfffc) === 0) throw new CpuFault(Vec.GP, ext);
  const d = loadDescriptorOrGp(cpu, sel, ext);
  if (!isCode(d) || descDpl(d) > cpu.cpl) throw new CpuFault(Vec.GP, (sel & 0xfffc) | ext);
  if (!descPresent(d)) throw new CpuFault(Vec.NP, (sel & 0xfffc) | ext);
  const dpl = descDpl(d);
  const flags = cpu.flags;
  const oldCs = cpu.segs[1].selector;
  const oldEip = cpu.eip;
  const frame: number[] = [];
  let newCpl = cpu.cpl;
  if (!isConforming(d) && dpl < cpu.cpl) {
    const { ss, esp } = tssStack(cpu, dpl, ext);
    const ssd = checkTssStack(cpu, ss, dpl, ext);
    frame.push(cpu.segs[2].selector, cpu.regs[4], flags, oldCs, oldEip);
    if (errorCode !== undefined) frame.push(errorCode);
    pushOnNewStack(cpu, ss, ssd, esp, dpl, frame, size);
    newCpl = dpl;
  } else {
    if (!isConforming(d) && dpl !== cpu.cpl) throw new CpuFault(Vec.GP, (sel & 0xfffc) | ext);
    frame.push(flags, oldCs, oldEip);
    if (errorCode !== undefined) frame.push(errorCode);
    const r = cpu.regs;
    const total = frame.length * size;
    const sp = cpu.stack32 ? (r[4] - total) | 0 : (r[4] - total) & 0xffff;
    cpu.probeWrite(2, sp, total);
    for (const v of frame) cpu.push(size, v);
  }
  if (offset > (d.hi & 0x800000 ? (((d.lo & 0xffff) | (d.hi & 0xf0000)) << 12) | 0xfff : (d.lo & 0xffff) | (d.hi & 0xf0000)) >>> 0) {
    throw new CpuFault(Vec.GP, ext);
  }
  cpu.flags &= ~(INT_CLEAR | (trapGate ? 0 : IF));
  setSegFromDesc(cpu, 1, (sel & 0xfffc) | newCpl, d);
  cpu.cpl = newCpl;
  cpu.updateMode();
  cpu.eip = offset;
}

function deliverReal(cpu: Cpu, vector: number): void {
  const off = vector * 4;
  if (off + 3 > cpu.idtr.limit) throw new CpuFault(Vec.GP, 0);
  const ip = cpu.sysRead16(cpu.idtr.base + off);
  const cs = cpu.sysRead16(cpu.idtr.base + off + 2);
  const r = cpu.regs;
  const sp = cpu.stack32 ? (r[4] - 6) | 0 : (r[4] - 6) & 0xffff;
  cpu.probeWrite(2, sp, 6);
  cpu.push(2, cpu.flags & 0xffff);
  cpu.push(2, cpu.segs[1].selector);
  cpu.push(2, cpu.eip);
  cpu.flags &= ~(IF | 0x100 | AC);
  const sg = cpu.segs[1];
  cpu.setSeg(1, cs, cs << 4, sg.limit, sg.access);
  cpu.eip = ip;
}
