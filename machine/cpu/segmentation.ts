// Segmentation: descriptor tables, segment register loads with protection checks, far
// jmp/call/ret and iret across privilege levels (call gates included), LDT/TR loads, and the
// protection-probing instructions lar/lsl/verr/verw/arpl.
//
// Far jmp/call to a TSS or task gate and iret with NT = 1 hand over to the hardware task switch
// in task.ts.

import type { Cpu } from "./cpu.js";
import type { Insn } from "./decoder.js";
import { CpuFault, Vec } from "./fault.js";
import { materialize, NT, VM, ZF, setFlagBits, IF, TF, RF } from "./flags.js";
import { farTaskTransfer, taskReturn, TaskSource } from "./task.js";

export interface Descriptor {
  lo: number;
  hi: number;
  /** linear address of the descriptor (for setting the accessed / busy bits) */
  addr: number;
}

export const descBase = (d: Descriptor): number => ((d.lo >>> 16) | ((d.hi & 0xff) << 16) | (d.hi & 0xff000000)) >>> 0;
export function descLimit(d: Descriptor): number {
  const raw = (d.lo & 0xffff) | (d.hi & 0xf0000);
  return d.hi & 0x800000 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}
export const descAccess = (d: Descriptor): number => (d.hi >>> 8) & 0xf0ff;
export const descDpl = (d: Descriptor): number => (d.hi >>> 13) & 3;
export const descPresent = (d: Descriptor): boolean => (d.hi & 0x8000) !== 0;
/** S=1 code/data */
export const isCodeData = (d: Descriptor): boolean => (d.hi & 0x1000) !== 0;
export const isCode = (d: Descriptor): boolean => (d.hi & 0x1800) === 0x1800;
export const isConforming = (d: Descriptor): boolean => (d.hi & 0x1c00) === 0x1c00;
export const isReadable = (d: Descriptor): boolean => !isCode(d) || (d.hi & 0x200) !== 0;
export const isWritableData = (d: Descriptor): boolean => (d.hi & 0x1a00) === 0x1200;
/** System descriptor type (S=0), 0–15 */
export const sysType = (d: Descriptor): number => (d.hi >>> 8) & 0xf;

const gpSel = (sel: number): never => {
  throw new CpuFault(Vec.GP, sel & 0xfffc);
};
const npSel = (sel: number): never => {
  throw new CpuFault(Vec.NP, sel & 0xfffc);
};
const ssSel = (sel: number): never => {
  throw new CpuFault(Vec.SS, sel & 0xfffc);
};
const gp0 = (): never => {
  throw new CpuFault(Vec.GP, 0);
};

/** Read a descriptor; null when the selector is beyond the table limit (or the LDT is unusable). */
export function readDescriptor(cpu: Cpu, sel: number): Descriptor | null {
  let base: number;
  let limit: number;
  if (sel & 4) {
    if (!(cpu.ldtr.access & 0x80) || (cpu.ldtr.selector & 0xfffc) === 0) return null;
    base = cpu.ldtr.base;
    limit = cpu.ldtr.limit;
  } else {
    base = cpu.gdtr.base;
    limit = cpu.gdtr.limit;
  }
  const off = sel & 0xfff8;
  if (off + 7 > limit) return null;
  const addr = (base + off) >>> 0;
  return { lo: cpu.sysRead32(addr), hi: cpu.sysRead32(addr + 4), addr };
}

export function loadDescriptorOrGp(cpu: Cpu, sel: number, ext = 0): Descriptor {
  const d = readDescriptor(cpu, sel);
  if (!d) throw new CpuFault(Vec.GP, (sel & 0xfffc) | ext);
  return d;
}

export function setAccessed(cpu: Cpu, d: Descriptor): void {
  if (!(d.hi & 0x100)) {
    d.hi |= 0x100;
    cpu.sysWrite8(d.addr + 5, (d.hi >>> 8) & 0xff);
  }
}

/** Load a segment register's cache from a descriptor. */
export function setSegFromDesc(cpu: Cpu, s: number, sel: number, d: Descriptor): void {
  cpu.setSeg(s, sel, descBase(d), descLimit(d), descAccess(d));
}

/** A null data segment (DS/ES/FS/GS loaded with a null selector in protected mode): unusable. */
export function setNullSeg(cpu: Cpu, s: number, sel: number): void {
  cpu.setSeg(s, sel, 0, 0, 0);
}

/** mov/pop/lds... into segment register `s` (not CS) with all protected-mode checks. */
export function loadSeg(cpu: Cpu, s: number, sel: number): void {
  sel &= 0xffff;
  if (!cpu.protectedMode || cpu.vm86) {
    const sg = cpu.segs[s];
    cpu.setSeg(s, sel, sel << 4, cpu.vm86 ? 0xffff : sg.limit, cpu.vm86 ? 0xf3 : sg.access || 0x93);
    if (s === 2) cpu.inhibitUntil = cpu.instructionCount + 2;
    return;
  }
  const rpl = sel & 3;
  const cpl = cpu.cpl;
  if (s === 2) {
    if ((sel & 0xfffc) === 0) gp0();
    const d = loadDescriptorOrGp(cpu, sel);
    if (rpl !== cpl || !isWritableData(d) || descDpl(d) !== cpl) gpSel(sel);
    if (!descPresent(d)) ssSel(sel);
    setAccessed(cpu, d);
    setSegFromDesc(cpu, 2, sel, d);
    cpu.inhibitUntil = cpu.instructionCount + 2;
    return;
  }
  if ((sel & 0xfffc) === 0) {
    setNullSeg(cpu, s, sel);
    return;
  }
  const d = loadDescriptorOrGp(cpu, sel);
  if (!isCodeData(d) || !isReadable(d)) gpSel(sel);
  if (!isConforming(d)) {
    const dpl = descDpl(d);
    if (rpl > dpl || cpl > dpl) gpSel(sel);
  }
  if (!descPresent(d)) npSel(sel);
  setAccessed(cpu, d);
  setSegFromDesc(cpu, s, sel, d);
}

export function pushSeg(cpu: Cpu, i: Insn): void {
  const v = cpu.segs[i.sub].selector;
  if (i.osize === 4) {
    // 32-bit push of a segment register writes only the low word on modern CPUs
    const r = cpu.regs;
    const sp = cpu.stack32 ? (r[4] - 4) | 0 : (r[4] - 4) & 0xffff;
    cpu.probeWrite(2, sp, 4);
    cpu.write16(2, sp, v);
    cpu.adjustSp(-4);
  } else cpu.push(2, v);
}

export function popSeg(cpu: Cpu, i: Insn): void {
  const v = cpu.peek(i.osize, 0) & 0xffff;
  loadSeg(cpu, i.sub, v);
  cpu.adjustSp(i.osize);
  cpu.breakBlock = true;
}

export function movToSeg(cpu: Cpu, i: Insn): void {
  if (i.reg === 1 || i.reg > 5) throw new CpuFault(Vec.UD, undefined);
  const v = i.mod === 3 ? cpu.regs[i.rm] & 0xffff : cpu.read16(i.seg, cpu.ea(i));
  loadSeg(cpu, i.reg, v);
  cpu.breakBlock = true;
}

export function movFromSeg(cpu: Cpu, i: Insn): void {
  if (i.reg > 5) throw new CpuFault(Vec.UD, undefined);
  const v = cpu.segs[i.reg].selector;
  if (i.mod === 3) cpu.setReg(i.osize, i.rm, v);
  else cpu.write16(i.seg, cpu.ea(i), v);
}

export function loadFarPtr(cpu: Cpu, i: Insn): void {
  const addr = cpu.ea(i);
  const off = i.osize === 4 ? cpu.read32(i.seg, addr) : cpu.read16(i.seg, addr);
  const sel = cpu.read16(i.seg, i.asize === 4 ? (addr + i.osize) | 0 : (addr + i.osize) & 0xffff);
  loadSeg(cpu, i.sub, sel);
  cpu.setReg(i.osize, i.reg, off);
  cpu.breakBlock = true;
}

// ---------------------------------------------------------------- CS loads and far transfers

function loadCsReal(cpu: Cpu, sel: number, eip: number): void {
  const cs = cpu.segs[1];
  cpu.setSeg(1, sel, sel << 4, cs.limit, cpu.vm86 ? 0xf3 : cs.access);
  cpu.eip = eip >>> 0;
}

function loadCs(cpu: Cpu, sel: number, d: Descriptor, rplCpl: number, eip: number): void {
  setAccessed(cpu, d);
  cpu.setSeg(1, (sel & 0xfffc) | rplCpl, descBase(d), descLimit(d), descAccess(d));
  cpu.cpl = rplCpl;
  cpu.updateMode();
  cpu.eip = eip >>> 0;
}

/** Direct far jmp/call target checks on a code descriptor (no privilege change). */
function checkDirectCode(cpu: Cpu, sel: number, d: Descriptor): void {
  const dpl = descDpl(d);
  if (isConforming(d)) {
    if (dpl > cpu.cpl) gpSel(sel);
  } else if ((sel & 3) > cpu.cpl || dpl !== cpu.cpl) gpSel(sel);
  if (!descPresent(d)) npSel(sel);
}

interface GateTarget {
  sel: number;
  offset: number;
  d: Descriptor;
  size: number;
  params: number;
}

function readCallGate(cpu: Cpu, sel: number, gate: Descriptor): GateTarget {
  const dpl = descDpl(gate);
  if (dpl < cpu.cpl || dpl < (sel & 3)) gpSel(sel);
  if (!descPresent(gate)) npSel(sel);
  const tsel = gate.lo >>> 16;
  const size = sysType(gate) === 0xc ? 4 : 2;
  const offset = size === 4 ? ((gate.lo & 0xffff) | (gate.hi & 0xffff0000)) >>> 0 : gate.lo & 0xffff;
  if ((tsel & 0xfffc) === 0) gp0();
  const d = loadDescriptorOrGp(cpu, tsel);
  if (!isCode(d) || descDpl(d) > cpu.cpl) gpSel(tsel);
  if (!descPresent(d)) npSel(tsel);
  return { sel: tsel, offset, d, size, params: gate.hi & 0x1f };
}

function checkOffset(d: Descriptor, off: number): void {
  if (off > descLimit(d)) gp0();
}

export function jmpFar(cpu: Cpu, sel: number, off: number, osize: number): void {
  if (!cpu.protectedMode || cpu.vm86) {
    if ((off >>> 0) > cpu.segs[1].limit) gp0();
    loadCsReal(cpu, sel, osize === 4 ? off : off & 0xffff);
    return;
  }
  if ((sel & 0xfffc) === 0) gp0();
  const d = loadDescriptorOrGp(cpu, sel);
  if (isCodeData(d)) {
    if (!isCode(d)) gpSel(sel);
    checkDirectCode(cpu, sel, d);
    const o = osize === 4 ? off >>> 0 : off & 0xffff;
    checkOffset(d, o);
    loadCs(cpu, sel, d, cpu.cpl, o);
    return;
  }
  const t = sysType(d);
  if (t === 4 || t === 0xc) {
    const g = readCallGate(cpu, sel, d);
    if (isConforming(g.d) ? descDpl(g.d) > cpu.cpl : descDpl(g.d) !== cpu.cpl) gpSel(g.sel);
    checkOffset(g.d, g.offset);
    loadCs(cpu, g.sel, g.d, cpu.cpl, g.offset);
    return;
  }
  if (t === 1 || t === 5 || t === 9 || t === 3 || t === 0xb) {
    // busy TSS types come through too: farTaskTransfer reports them as #GP(selector)
    farTaskTransfer(cpu, sel, d, TaskSource.Jmp);
    return;
  }
  gpSel(sel);
}

/** Stack pointer for privilege level `dpl` from the current TSS. */
export function tssStack(cpu: Cpu, dpl: number, ext: number): { ss: number; esp: number } {
  const tr = cpu.tr;
  const t32 = (tr.access & 0xf) === 9 || (tr.access & 0xf) === 0xb;
  if (t32) {
    const off = 4 + dpl * 8;
    if (off + 5 > tr.limit) throw new CpuFault(Vec.TS, (tr.selector & 0xfffc) | ext);
    return { esp: cpu.sysRead32(tr.base + off) >>> 0, ss: cpu.sysRead16(tr.base + off + 4) };
  }
  const off = 2 + dpl * 4;
  if (off + 3 > tr.limit) throw new CpuFault(Vec.TS, (tr.selector & 0xfffc) | ext);
  return { esp: cpu.sysRead16(tr.base + off), ss: cpu.sysRead16(tr.base + off + 2) };
}

/** Validate the inner stack segment named in the TSS for privilege `dpl`. */
export function checkTssStack(cpu: Cpu, ss: number, dpl: number, ext: number): Descriptor {
  if ((ss & 0xfffc) === 0) throw new CpuFault(Vec.TS, ext);
  const d = readDescriptor(cpu, ss);
  if (!d) throw new CpuFault(Vec.TS, (ss & 0xfffc) | ext);
  if ((ss & 3) !== dpl || descDpl(d) !== dpl || !isWritableData(d)) throw new CpuFault(Vec.TS, (ss & 0xfffc) | ext);
  if (!descPresent(d)) throw new CpuFault(Vec.SS, (ss & 0xfffc) | ext);
  return d;
}

/**
 * Switch to an inner stack and push `values` (first pushed first) of `size` bytes, atomically:
 * on a fault the old SS:ESP and CPL are restored.
 */
export function pushOnNewStack(cpu: Cpu, ssSel: number, ssDesc: Descriptor, esp: number, newCpl: number, values: number[], size: number): void {
  const oldSs = { ...cpu.segs[2] };
  const oldEsp = cpu.regs[4];
  const oldCpl = cpu.cpl;
  try {
    cpu.cpl = newCpl;
    cpu.updateMode();
    setSegFromDesc(cpu, 2, ssSel, ssDesc);
    cpu.regs[4] = esp;
    const total = values.length * size;
    const sp = cpu.stack32 ? (esp - total) | 0 : (esp - total) & 0xffff;
    cpu.probeWrite(2, sp, total);
    for (const v of values) cpu.push(size, v);
  } catch (e) {
    cpu.cpl = oldCpl;
    cpu.setSeg(2, oldSs.selector, oldSs.base, oldSs.limit, oldSs.access);
    cpu.regs[4] = oldEsp;
    cpu.updateMode();
    throw e;
  }
}

export function callFar(cpu: Cpu, sel: number, off: number, osize: number): void {
  const retEip = cpu.eip;
  const retCs = cpu.segs[1].selector;
  if (!cpu.protectedMode || cpu.vm86) {
    const o = osize === 4 ? off >>> 0 : off & 0xffff;
    if (o > cpu.segs[1].limit) gp0();
    const r = cpu.regs;
    const sp = cpu.stack32 ? (r[4] - 2 * osize) | 0 : (r[4] - 2 * osize) & 0xffff;
    cpu.probeWrite(2, sp, 2 * osize);
    cpu.push(osize, retCs);
    cpu.push(osize, retEip);
    loadCsReal(cpu, sel, o);
    return;
  }
  if ((sel & 0xfffc) === 0) gp0();
  const d = loadDescriptorOrGp(cpu, sel);
  if (isCodeData(d)) {
    if (!isCode(d)) gpSel(sel);
    checkDirectCode(cpu, sel, d);
    const o = osize === 4 ? off >>> 0 : off & 0xffff;
    checkOffset(d, o);
    const r = cpu.regs;
    const sp = cpu.stack32 ? (r[4] - 2 * osize) | 0 : (r[4] - 2 * osize) & 0xffff;
    cpu.probeWrite(2, sp, 2 * osize);
    cpu.push(osize, retCs);
    cpu.push(osize, retEip);
    loadCs(cpu, sel, d, cpu.cpl, o);
    return;
  }
  const t = sysType(d);
  if (t === 1 || t === 5 || t === 9 || t === 3 || t === 0xb) {
    farTaskTransfer(cpu, sel, d, TaskSource.Call);
    return;
  }
  if (t !== 4 && t !== 0xc) gpSel(sel);
  const g = readCallGate(cpu, sel, d);
  const dpl = descDpl(g.d);
  checkOffset(g.d, g.offset);
  if (!isConforming(g.d) && dpl < cpu.cpl) {
    // inner privilege: new stack from the TSS, copy parameters
    const { ss, esp } = tssStack(cpu, dpl, 0);
    const ssd = checkTssStack(cpu, ss, dpl, 0);
    const oldSs = cpu.segs[2].selector;
    const oldEsp = cpu.regs[4];
    const params: number[] = [];
    for (let k = g.params - 1; k >= 0; k--) params.push(cpu.peek(g.size, k * g.size));
    pushOnNewStack(cpu, ss, ssd, esp, dpl, [oldSs, oldEsp, ...params, retCs, retEip], g.size);
    loadCs(cpu, g.sel, g.d, dpl, g.offset);
    return;
  }
  const r = cpu.regs;
  const sp = cpu.stack32 ? (r[4] - 2 * g.size) | 0 : (r[4] - 2 * g.size) & 0xffff;
  cpu.probeWrite(2, sp, 2 * g.size);
  cpu.push(g.size, retCs);
  cpu.push(g.size, retEip);
  loadCs(cpu, g.sel, g.d, cpu.cpl, g.offset);
}

export function jmpFarImm(cpu: Cpu, i: Insn): void {
  jmpFar(cpu, i.imm2, i.imm, i.osize);
  cpu.breakBlock = true;
}
export function callFarImm(cpu: Cpu, i: Insn): void {
  callFar(cpu, i.imm2, i.imm, i.osize);
  cpu.breakBlock = true;
}
function readFarMem(cpu: Cpu, i: Insn): [number, number] {
  const addr = cpu.ea(i);
  const off = i.osize === 4 ? cpu.read32(i.seg, addr) : cpu.read16(i.seg, addr);
  const sel = cpu.read16(i.seg, i.asize === 4 ? (addr + i.osize) | 0 : (addr + i.osize) & 0xffff);
  return [sel, off];
}
export function jmpFarMem(cpu: Cpu, i: Insn): void {
  const [sel, off] = readFarMem(cpu, i);
  jmpFar(cpu, sel, off, i.osize);
  cpu.breakBlock = true;
}
export function callFarMem(cpu: Cpu, i: Insn): void {
  const [sel, off] = readFarMem(cpu, i);
  callFar(cpu, sel, off, i.osize);
  cpu.breakBlock = true;
}

/** After returning to an outer level: data segments the new CPL may not use become null. */
function nullInaccessibleSegs(cpu: Cpu): void {
  for (const s of [0, 3, 4, 5]) {
    const a = cpu.segs[s].access;
    const isConfCode = (a & 0x1c) === 0x1c;
    const dpl = (a >> 5) & 3;
    if (!(a & 0x80)) continue;
    if (!isConfCode && dpl < cpu.cpl) setNullSeg(cpu, s, 0);
  }
}

/** Checks for the CS popped by ret far / iret when returning to `rpl`. */
function checkReturnCs(cpu: Cpu, sel: number): Descriptor {
  if ((sel & 0xfffc) === 0) gp0();
  const d = loadDescriptorOrGp(cpu, sel);
  const rpl = sel & 3;
  if (!isCode(d) || rpl < cpu.cpl) gpSel(sel);
  if (isConforming(d) ? descDpl(d) > rpl : descDpl(d) !== rpl) gpSel(sel);
  if (!descPresent(d)) npSel(sel);
  return d;
}

function checkReturnSs(cpu: Cpu, ss: number, rpl: number): Descriptor {
  if ((ss & 0xfffc) === 0) gp0();
  const d = loadDescriptorOrGp(cpu, ss);
  if ((ss & 3) !== rpl || !isWritableData(d) || descDpl(d) !== rpl) gpSel(ss);
  if (!descPresent(d)) ssSel(ss);
  return d;
}

export function retFar(cpu: Cpu, i: Insn): void {
  const s = i.osize;
  const imm = i.op === 0xca ? i.imm : 0;
  const off = cpu.peek(s, 0);
  const sel = cpu.peek(s, s) & 0xffff;
  cpu.breakBlock = true;
  if (!cpu.protectedMode || cpu.vm86) {
    const o = s === 4 ? off >>> 0 : off & 0xffff;
    if (o > cpu.segs[1].limit) gp0();
    loadCsReal(cpu, sel, o);
    cpu.adjustSp(2 * s + imm);
    return;
  }
  const d = checkReturnCs(cpu, sel);
  const rpl = sel & 3;
  const o = s === 4 ? off >>> 0 : off & 0xffff;
  if (rpl > cpu.cpl) {
    const newEsp = cpu.peek(s, 2 * s + imm);
    const newSs = cpu.peek(s, 3 * s + imm) & 0xffff;
    const ssd = checkReturnSs(cpu, newSs, rpl);
    checkOffset(d, o);
    loadCs(cpu, sel, d, rpl, o);
    setSegFromDesc(cpu, 2, newSs, ssd);
    cpu.updateMode();
    cpu.regs[4] = s === 4 || cpu.stack32 ? newEsp : (cpu.regs[4] & ~0xffff) | (newEsp & 0xffff);
    cpu.adjustSp(imm);
    nullInaccessibleSegs(cpu);
    return;
  }
  checkOffset(d, o);
  loadCs(cpu, sel, d, cpu.cpl, o);
  cpu.adjustSp(2 * s + imm);
}

export function iret(cpu: Cpu, i: Insn): void {
  const s = i.osize;
  cpu.breakBlock = true;
  // iret ends NMI blocking, even when it then faults
  cpu.nmiBlocked = false;
  if (cpu.nmiPending) cpu.irqCheck = true;
  if (!cpu.protectedMode) {
    const off = cpu.peek(s, 0);
    const sel = cpu.peek(s, s) & 0xffff;
    const fl = cpu.peek(s, 2 * s);
    const o = s === 4 ? off >>> 0 : off & 0xffff;
    if (o > cpu.segs[1].limit) gp0();
    loadCsReal(cpu, sel, o);
    cpu.adjustSp(3 * s);
    const mask = s === 4 ? 0x257fd5 : 0xffff; // VM, VIP, VIF unchanged
    cpu.writeFlagsMasked(fl, mask & ~0x2);
    return;
  }
  if (cpu.vm86) gp0(); // virtual-8086 mode is not implemented
  materialize(cpu);
  if (cpu.flags & NT) {
    // nested task: return to the task that called or was interrupted into this one
    taskReturn(cpu);
    return;
  }
  const off = cpu.peek(s, 0);
  const sel = cpu.peek(s, s) & 0xffff;
  const fl = cpu.peek(s, 2 * s);
  if (s === 4 && fl & VM && cpu.cpl === 0) gp0(); // return to virtual-8086 mode: not implemented
  const d = checkReturnCs(cpu, sel);
  const rpl = sel & 3;
  const o = s === 4 ? off >>> 0 : off & 0xffff;
  const mask = cpu.flagsWriteMask(s) | (s === 4 ? RF : 0);
  if (rpl > cpu.cpl) {
    const newEsp = cpu.peek(s, 3 * s);
    const newSs = cpu.peek(s, 4 * s) & 0xffff;
    const ssd = checkReturnSs(cpu, newSs, rpl);
    checkOffset(d, o);
    cpu.writeFlagsMasked(fl, mask);
    loadCs(cpu, sel, d, rpl, o);
    setSegFromDesc(cpu, 2, newSs, ssd);
    cpu.updateMode();
    cpu.regs[4] = s === 4 || cpu.stack32 ? newEsp : (cpu.regs[4] & ~0xffff) | (newEsp & 0xffff);
    nullInaccessibleSegs(cpu);
    return;
  }
  checkOffset(d, o);
  cpu.writeFlagsMasked(fl, mask);
  loadCs(cpu, sel, d, cpu.cpl, o);
  cpu.adjustSp(3 * s);
}

// ---------------------------------------------------------------- LDT / TR and probes

function requirePm(cpu: Cpu): void {
  if (!cpu.protectedMode || cpu.vm86) throw new CpuFault(Vec.UD, undefined);
}
function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) gp0();
}
function selOperand(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.regs[i.rm] & 0xffff : cpu.read16(i.seg, cpu.ea(i));
}
function storeSel(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.setReg(i.osize, i.rm, v);
  else cpu.write16(i.seg, cpu.ea(i), v);
}

export function sldt(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  storeSel(cpu, i, cpu.ldtr.selector);
}
export function str(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  storeSel(cpu, i, cpu.tr.selector);
}
export function lldt(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  requireCpl0(cpu);
  const sel = selOperand(cpu, i);
  if ((sel & 0xfffc) === 0) {
    cpu.ldtr = { selector: sel, base: 0, limit: 0, access: 0 };
    return;
  }
  if (sel & 4) gpSel(sel);
  const d = loadDescriptorOrGp(cpu, sel);
  if (isCodeData(d) || sysType(d) !== 2) gpSel(sel);
  if (!descPresent(d)) npSel(sel);
  cpu.ldtr = { selector: sel, base: descBase(d), limit: descLimit(d), access: descAccess(d) };
}
export function ltr(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  requireCpl0(cpu);
  const sel = selOperand(cpu, i);
  if ((sel & 0xfffc) === 0) gp0();
  if (sel & 4) gpSel(sel);
  const d = loadDescriptorOrGp(cpu, sel);
  const t = sysType(d);
  if (isCodeData(d) || (t !== 1 && t !== 9)) gpSel(sel);
  if (!descPresent(d)) npSel(sel);
  d.hi |= 0x200; // busy
  cpu.sysWrite8(d.addr + 5, (d.hi >>> 8) & 0xff);
  cpu.tr = { selector: sel, base: descBase(d), limit: descLimit(d), access: descAccess(d) };
}

/** Common visibility rule of lar/lsl/verr/verw: DPL must be >= CPL and >= RPL unless conforming code. */
function visible(cpu: Cpu, sel: number, d: Descriptor): boolean {
  if (isConforming(d)) return true;
  const dpl = descDpl(d);
  return dpl >= cpu.cpl && dpl >= (sel & 3);
}

function probe(cpu: Cpu, sel: number): Descriptor | null {
  if ((sel & 0xfffc) === 0) return null;
  return readDescriptor(cpu, sel);
}

export function lar(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  const sel = selOperand(cpu, i);
  const d = probe(cpu, sel);
  const ok = d !== null && (isCodeData(d) || [1, 2, 3, 4, 5, 9, 0xb, 0xc].includes(sysType(d))) && visible(cpu, sel, d);
  setFlagBits(cpu, ZF, ok ? ZF : 0);
  if (ok) cpu.setReg(i.osize, i.reg, i.osize === 4 ? d!.hi & 0x00ffff00 : d!.hi & 0xff00);
}
export function lsl(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  const sel = selOperand(cpu, i);
  const d = probe(cpu, sel);
  const ok = d !== null && (isCodeData(d) || [1, 2, 3, 9, 0xb].includes(sysType(d))) && visible(cpu, sel, d);
  setFlagBits(cpu, ZF, ok ? ZF : 0);
  if (ok) cpu.setReg(i.osize, i.reg, descLimit(d!));
}
export function verr(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  const sel = selOperand(cpu, i);
  const d = probe(cpu, sel);
  const ok = d !== null && isCodeData(d) && isReadable(d) && visible(cpu, sel, d);
  setFlagBits(cpu, ZF, ok ? ZF : 0);
}
export function verw(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  const sel = selOperand(cpu, i);
  const d = probe(cpu, sel);
  const ok = d !== null && isWritableData(d) && visible(cpu, sel, d);
  setFlagBits(cpu, ZF, ok ? ZF : 0);
}
export function arpl(cpu: Cpu, i: Insn): void {
  requirePm(cpu);
  const src = cpu.regs[i.reg] & 3;
  if (i.mod === 3) {
    const v = cpu.regs[i.rm] & 0xffff;
    if ((v & 3) < src) {
      cpu.setReg(2, i.rm, (v & ~3) | src);
      setFlagBits(cpu, ZF, ZF);
    } else setFlagBits(cpu, ZF, 0);
  } else {
    const addr = cpu.ea(i);
    const v = cpu.read16(i.seg, addr);
    if ((v & 3) < src) {
      cpu.write16(i.seg, addr, (v & ~3) | src);
      setFlagBits(cpu, ZF, ZF);
    } else setFlagBits(cpu, ZF, 0);
  }
}

/** Flags bits cleared on interrupt delivery. */
export const INT_CLEAR = TF | NT | RF | VM;
export { IF };
