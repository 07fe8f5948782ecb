// Hardware task switching (Intel SDM vol. 3 §7.3): far jmp/call to a TSS descriptor or a task
// gate, interrupts and exceptions through a task gate in the IDT, and iret with EFLAGS.NT = 1
// (back to the task named by the current TSS's previous-task link). Both TSS formats: 32-bit
// (types 9/11) and 16-bit (types 1/3; no CR3, FS, GS or T bit in them).
//
// A switch runs in two halves around its commit point:
//  - before it, everything that can fault in the old task's context: the descriptor checks, reading
//    the whole new TSS, and translating every byte the switch will write (old TSS, busy bits, the
//    new TSS's link field). A fault here leaves the old task exactly as it was.
//  - then the old state is saved, the busy bits and link written, TR loaded: from here on faults
//    belong to the new task. They are rethrown with CpuFault.inNewTask so the run loop reports them
//    at the new task's EIP instead of rewinding to the instruction that switched.
//
// Not offered: switching to a task whose saved EFLAGS has VM set (virtual-8086 mode is not
// implemented): #TS(new TSS selector) before the commit point.

import type { Cpu } from "./cpu.js";
import { CR0_TS } from "./cpu.js";
import { CpuFault, Vec } from "./fault.js";
import { NT, VM } from "./flags.js";
import { deliverException } from "./interrupts.js";
import {
  type Descriptor,
  descBase,
  descDpl,
  descLimit,
  descAccess,
  descPresent,
  isCode,
  isCodeData,
  isConforming,
  isReadable,
  isWritableData,
  readDescriptor,
  setAccessed,
  setNullSeg,
  setSegFromDesc,
  sysType,
} from "./segmentation.js";

/** What started the switch: decides busy-bit, NT and link handling (SDM table 7-2). */
export const enum TaskSource {
  Jmp,
  Call,
  Iret,
  /** An exception, external interrupt, NMI or int n / int3 / into through a task gate. */
  Int,
}

/** DR6.BT: the #DB was raised by the T bit of the TSS just switched to. */
const DR6_BT = 0x8000;

const fault = (vector: number, sel: number, ext: number): never => {
  throw new CpuFault(vector, (sel & 0xfffc) | ext);
};

/** TSS system types: 1/3 16-bit available/busy, 9/11 32-bit available/busy. */
const isTssType = (type: number): boolean => type === 1 || type === 3 || type === 9 || type === 0xb;
const is32 = (type: number): boolean => type === 9 || type === 0xb;

/** Smallest limit that holds every field a switch reads or writes. */
const minLimit = (big: boolean): number => (big ? 0x67 : 0x2b);

/** Register image of a task as stored in its TSS. */
interface TaskImage {
  eip: number;
  eflags: number;
  regs: number[];
  /** ES, CS, SS, DS, FS, GS (encoding order). */
  segs: number[];
  ldt: number;
  cr3: number;
  trap: boolean;
}

function readImage(cpu: Cpu, base: number, big: boolean): TaskImage {
  const r32 = (o: number) => cpu.sysRead32((base + o) >>> 0);
  const r16 = (o: number) => cpu.sysRead16((base + o) >>> 0);
  if (big) {
    return {
      cr3: r32(0x1c) >>> 0,
      eip: r32(0x20) >>> 0,
      eflags: r32(0x24) >>> 0,
      regs: Array.from({ length: 8 }, (_, n) => r32(0x28 + 4 * n)),
      segs: Array.from({ length: 6 }, (_, s) => r16(0x48 + 4 * s)),
      ldt: r16(0x60),
      trap: (r16(0x64) & 1) !== 0,
    };
  }
  // The SDM leaves the upper halves of the general registers undefined after loading a 16-bit
  // TSS ("modified and not maintained"); all ones makes a dependence on them easy to spot.
  return {
    cr3: 0,
    eip: r16(0x0e),
    eflags: r16(0x10),
    regs: Array.from({ length: 8 }, (_, n) => (0xffff0000 | r16(0x12 + 2 * n)) | 0),
    segs: [...Array.from({ length: 4 }, (_, s) => r16(0x22 + 2 * s)), 0, 0],
    ldt: r16(0x2a),
    trap: false,
  };
}

/** Write the dynamic fields (EIP, EFLAGS, general registers, selectors) of the current task. */
function saveImage(cpu: Cpu, base: number, big: boolean, eflags: number): void {
  const w32 = (o: number, v: number) => cpu.sysWrite32((base + o) >>> 0, v);
  const w16 = (o: number, v: number) => cpu.sysWrite16((base + o) >>> 0, v & 0xffff);
  if (big) {
    w32(0x20, cpu.eip);
    w32(0x24, eflags);
    for (let n = 0; n < 8; n++) w32(0x28 + 4 * n, cpu.regs[n]);
    for (let s = 0; s < 6; s++) w16(0x48 + 4 * s, cpu.segs[s].selector);
  } else {
    w16(0x0e, cpu.eip);
    w16(0x10, eflags);
    for (let n = 0; n < 8; n++) w16(0x12 + 2 * n, cpu.regs[n]);
    for (let s = 0; s < 4; s++) w16(0x22 + 2 * s, cpu.segs[s].selector);
  }
}

/** Translate [lin, lin + len) for a supervisor write now, so the writes after it cannot fault. */
function probeSysWrite(cpu: Cpu, lin: number, len: number): void {
  cpu.walk(lin >>> 0, true, false, true);
  if (((lin & 0xfff) + len) > 0x1000) cpu.walk((lin + len - 1) >>> 0, true, false, true);
}

/**
 * Descriptor checks on the TSS a switch goes to: the right type and busy state (#GP, or #TS for
 * iret), then present (#NP).
 */
function checkTssDescriptor(sel: number, d: Descriptor, source: TaskSource, ext: number): void {
  const t = isCodeData(d) ? -1 : sysType(d);
  const busy = (t & 2) !== 0;
  const ok = isTssType(t) && (source === TaskSource.Iret ? busy : !busy);
  if (!ok) fault(source === TaskSource.Iret ? Vec.TS : Vec.GP, sel, ext);
  if (!descPresent(d)) fault(Vec.NP, sel, ext);
}

/** A TSS selector taken from a task gate or the link field: must name a TSS in the GDT. */
function readTssDescriptor(cpu: Cpu, sel: number, source: TaskSource, ext: number): Descriptor {
  const vec = source === TaskSource.Iret ? Vec.TS : Vec.GP;
  const d = sel & 4 ? null : readDescriptor(cpu, sel);
  if (!d) return fault(vec, sel, ext);
  checkTssDescriptor(sel, d, source, ext);
  return d;
}

/**
 * jmp/call far whose selector names a TSS descriptor or a task gate (`d`). The DPL of the
 * descriptor named (gate or TSS) must admit both CPL and RPL.
 */
export function farTaskTransfer(cpu: Cpu, sel: number, d: Descriptor, source: TaskSource.Jmp | TaskSource.Call): void {
  const dpl = descDpl(d);
  if (dpl < cpu.cpl || dpl < (sel & 3)) fault(Vec.GP, sel, 0);
  if (sysType(d) === 5) {
    if (!descPresent(d)) fault(Vec.NP, sel, 0);
    const tss = d.lo >>> 16;
    switchTask(cpu, tss, readTssDescriptor(cpu, tss, source, 0), source, 0, undefined);
    return;
  }
  // TSS descriptors live only in the GDT
  if (sel & 4) fault(Vec.GP, sel, 0);
  checkTssDescriptor(sel, d, source, 0);
  switchTask(cpu, sel, d, source, 0, undefined);
}

/** Interrupt or exception through a task gate (gate type, DPL and presence already checked). */
export function taskGateInterrupt(cpu: Cpu, gate: Descriptor, errorCode: number | undefined, ext: number): void {
  const tss = gate.lo >>> 16;
  switchTask(cpu, tss, readTssDescriptor(cpu, tss, TaskSource.Int, ext), TaskSource.Int, ext, errorCode);
}

/** iret with NT = 1: resume the task whose selector is in the current TSS's link field. */
export function taskReturn(cpu: Cpu): void {
  const link = cpu.sysRead16(cpu.tr.base);
  switchTask(cpu, link, readTssDescriptor(cpu, link, TaskSource.Iret, 0), TaskSource.Iret, 0, undefined);
}

/**
 * The switch proper, to the checked TSS descriptor `d` named by `sel`. `errorCode` (interrupts
 * only) is pushed on the new task's stack. `ext` goes into the error codes of faults it raises.
 */
function switchTask(cpu: Cpu, sel: number, d: Descriptor, source: TaskSource, ext: number, errorCode: number | undefined): void {
  // ---- before the commit point: faults are the old task's
  const big = is32(sysType(d));
  const limit = descLimit(d);
  if (limit < minLimit(big)) fault(Vec.TS, sel, ext);
  const oldTr = cpu.tr;
  const oldBig = is32(oldTr.access & 0xf);
  // the save writes up to GS (32-bit) or DS (16-bit)
  if (oldTr.limit < (oldBig ? 0x5f : 0x29)) fault(Vec.TS, oldTr.selector, ext);
  const base = descBase(d);
  const img = readImage(cpu, base, big);
  if (img.eflags & VM) fault(Vec.TS, sel, ext); // virtual-8086 tasks: not implemented

  const nests = source === TaskSource.Call || source === TaskSource.Int;
  probeSysWrite(cpu, oldTr.base + (oldBig ? 0x20 : 0x0e), oldBig ? 0x40 : 0x1c);
  // JMP and IRET leave the old task: its descriptor (in the GDT, found again by TR's selector)
  // loses the busy bit. A TR never loaded (selector 0) has no descriptor to update.
  let oldDesc: Descriptor | null = null;
  if ((source === TaskSource.Jmp || source === TaskSource.Iret) && (oldTr.selector & 0xfffc) !== 0) {
    oldDesc = readDescriptor(cpu, oldTr.selector);
    if (oldDesc && (isCodeData(oldDesc) || !isTssType(sysType(oldDesc)))) oldDesc = null;
    if (oldDesc) probeSysWrite(cpu, oldDesc.addr + 5, 1);
  }
  if (source !== TaskSource.Iret) probeSysWrite(cpu, d.addr + 5, 1);
  if (nests) probeSysWrite(cpu, base, 2);

  // ---- commit: save the old task, mark busy bits, link, load TR
  let oldFlags = cpu.getEflags();
  if (source === TaskSource.Iret) oldFlags &= ~NT; // the task returned from is no longer nested
  saveImage(cpu, oldTr.base, oldBig, oldFlags);
  if (oldDesc) {
    oldDesc.hi &= ~0x200;
    cpu.sysWrite8(oldDesc.addr + 5, (oldDesc.hi >>> 8) & 0xff);
  }
  if (source !== TaskSource.Iret) {
    d.hi |= 0x200;
    cpu.sysWrite8(d.addr + 5, (d.hi >>> 8) & 0xff);
  }
  if (nests) cpu.sysWrite16(base, oldTr.selector);
  cpu.tr = { selector: sel & 0xffff, base, limit, access: descAccess(d) | 0x2 };
  // every switch sets TS so the first FPU use in the new task can swap FPU state lazily
  cpu.cr[0] = (cpu.cr[0] | CR0_TS) >>> 0;

  // ---- after the commit point: faults are the new task's
  try {
    loadImage(cpu, img, big, nests, ext);
    if (errorCode !== undefined) cpu.push(big ? 4 : 2, errorCode);
    if (cpu.eip > cpu.segs[1].limit) throw new CpuFault(Vec.GP, ext);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    throw new CpuFault(e.vector, e.errorCode, e.faultAddress, true);
  }
  if (img.trap) {
    // the T bit: a debug trap before the new task's first instruction
    cpu.dr[6] = (cpu.dr[6] | DR6_BT) >>> 0;
    deliverException(cpu, Vec.DB, undefined, false);
  }
}

/** Load the new task's registers, then qualify its LDT and segment descriptors. */
function loadImage(cpu: Cpu, img: TaskImage, big: boolean, nests: boolean, ext: number): void {
  // only a 32-bit TSS has a CR3, and it is loaded only with paging on (SDM §7.3 step 12)
  if (big && cpu.pagingEnabled) cpu.setCr(3, img.cr3);
  cpu.setEflags(nests ? img.eflags | NT : img.eflags);
  for (let n = 0; n < 8; n++) cpu.regs[n] = img.regs[n];
  cpu.eip = img.eip;
  // Selectors first, with unusable caches: a fault while qualifying them shows the new task's
  // selectors, and a segment not yet checked cannot be used.
  for (let s = 0; s < 6; s++) cpu.setSeg(s, img.segs[s], 0, 0, 0);
  cpu.ldtr = { selector: img.ldt, base: 0, limit: 0, access: 0 };
  const cs = img.segs[1];
  cpu.cpl = cs & 3;
  cpu.updateMode();

  loadLdt(cpu, img.ldt, ext);

  const cpl = cpu.cpl;
  if ((cs & 0xfffc) === 0) fault(Vec.TS, cs, ext);
  const csd = readDescriptor(cpu, cs) ?? fault(Vec.TS, cs, ext);
  if (!isCode(csd) || (isConforming(csd) ? descDpl(csd) > cpl : descDpl(csd) !== cpl)) fault(Vec.TS, cs, ext);
  if (!descPresent(csd)) fault(Vec.NP, cs, ext);
  setAccessed(cpu, csd);
  setSegFromDesc(cpu, 1, cs, csd);

  const ss = img.segs[2];
  if ((ss & 0xfffc) === 0) fault(Vec.TS, ss, ext);
  const ssd = readDescriptor(cpu, ss) ?? fault(Vec.TS, ss, ext);
  if ((ss & 3) !== cpl || !isWritableData(ssd) || descDpl(ssd) !== cpl) fault(Vec.TS, ss, ext);
  if (!descPresent(ssd)) fault(Vec.SS, ss, ext);
  setAccessed(cpu, ssd);
  setSegFromDesc(cpu, 2, ss, ssd);

  for (const s of [3, 0, 4, 5]) {
    const sel = img.segs[s];
    if ((sel & 0xfffc) === 0) {
      setNullSeg(cpu, s, sel);
      continue;
    }
    const sd = readDescriptor(cpu, sel) ?? fault(Vec.TS, sel, ext);
    if (!isCodeData(sd) || !isReadable(sd)) fault(Vec.TS, sel, ext);
    if (!isConforming(sd) && (descDpl(sd) < cpl || descDpl(sd) < (sel & 3))) fault(Vec.TS, sel, ext);
    if (!descPresent(sd)) fault(Vec.NP, sel, ext);
    setAccessed(cpu, sd);
    setSegFromDesc(cpu, s, sel, sd);
  }
  cpu.updateMode();
}

/** The new task's LDT: null is allowed; otherwise a present LDT descriptor in the GDT, else #TS. */
function loadLdt(cpu: Cpu, sel: number, ext: number): void {
  if ((sel & 0xfffc) === 0) return; // already loaded as unusable
  if (sel & 4) fault(Vec.TS, sel, ext);
  const d = readDescriptor(cpu, sel) ?? fault(Vec.TS, sel, ext);
  if (isCodeData(d) || sysType(d) !== 2 || !descPresent(d)) fault(Vec.TS, sel, ext);
  cpu.ldtr = { selector: sel, base: descBase(d), limit: descLimit(d), access: descAccess(d) };
}
