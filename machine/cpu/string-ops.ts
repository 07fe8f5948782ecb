// String instructions (movs cmps stos lods scas ins outs) with every rep form. Registers are
// updated after each element, so a fault in the middle leaves ECX/ESI/EDI reflecting progress.
// rep movs / rep stos over plain RAM with flat segments run as page-span bulk copies/fills.
// A rep instruction runs at most REP_SLICE iterations per execution and then restarts itself
// (EIP back on it, the count register holding what is left), as hardware lets an interrupt in
// between iterations: a guest's `rep scas` with ECX = 0xffffffff must not hold the host for
// minutes, and stop requests, budgets and interrupts reach a long copy.

import type { Cpu } from "./cpu.js";
import type { Insn } from "./decoder.js";
import { DF, getZF } from "./flags.js";
import { alu } from "./alu.js";
import { checkIoPermission } from "./system.js";

const ES = 0;

/** Iterations of a rep instruction per execution; a bulk page span counts as one. */
export const REP_SLICE = 4096;

function step(cpu: Cpu, size: number): number {
  return cpu.flags & DF ? -size : size;
}

function getIdx(cpu: Cpu, i: Insn, r: number): number {
  return i.asize === 4 ? cpu.regs[r] : cpu.regs[r] & 0xffff;
}
function addIdx(cpu: Cpu, i: Insn, r: number, d: number): void {
  const regs = cpu.regs;
  if (i.asize === 4) regs[r] = (regs[r] + d) | 0;
  else regs[r] = (regs[r] & ~0xffff) | ((regs[r] + d) & 0xffff);
}
function getCount(cpu: Cpu, i: Insn): number {
  return i.asize === 4 ? cpu.regs[1] >>> 0 : cpu.regs[1] & 0xffff;
}
function setCount(cpu: Cpu, i: Insn, n: number): void {
  if (i.asize === 4) cpu.regs[1] = n | 0;
  else cpu.regs[1] = (cpu.regs[1] & ~0xffff) | (n & 0xffff);
}

/** Physical address of a plain-RAM page for a write at `lin` (faults as the CPU would), or -1. */
function ramPhys(cpu: Cpu, lin: number, write: boolean): number {
  const e = cpu.tlb[lin >>> 12];
  const m = write ? cpu.wMask : cpu.rMask;
  if (!(e & m)) {
    cpu.walk(lin, write, cpu.cpl === 3, true);
  }
  const e2 = cpu.tlb[lin >>> 12];
  if (!(e2 & m)) return -1;
  return ((e2 & ~0xfff) | (lin & 0xfff)) >>> 0;
}

/** Fills page spans while it can (forward, 32-bit addressing, flat ES); returns the slice left. */
function bulkStos(cpu: Cpu, i: Insn, size: number, slice: number): number {
  if (cpu.flags & DF || i.asize !== 4 || cpu.segCheck[ES]) return slice;
  const regs = cpu.regs;
  const ram = cpu.ram;
  const v = regs[0];
  for (; slice > 0 && (regs[1] >>> 0) !== 0; slice--) {
    const lin = (cpu.segBase[ES] + regs[7]) >>> 0;
    const room = 0x1000 - (lin & 0xfff);
    if (room < size) return slice; // element crosses a page: go on element-wise
    const p = ramPhys(cpu, lin, true);
    if (p < 0) return slice;
    const n = Math.min(Math.floor(room / size), regs[1] >>> 0);
    if (cpu.watch[p >>> 12]) cpu.mem.beforeWrite(p >>> 12);
    if (size === 1) ram.fill(v & 0xff, p, p + n);
    else if (size === 4 && (p & 3) === 0) cpu.ram32.fill(v, p >>> 2, (p >>> 2) + n);
    else {
      for (let k = 0; k < n; k++) {
        const a = p + k * size;
        ram[a] = v;
        ram[a + 1] = v >> 8;
        if (size === 4) {
          ram[a + 2] = v >> 16;
          ram[a + 3] = v >> 24;
        }
      }
    }
    regs[7] = (regs[7] + n * size) | 0;
    regs[1] = (regs[1] - n) | 0;
  }
  return slice;
}

/** Copies page spans while it can (forward, 32-bit addressing, flat segments); returns the slice left. */
function bulkMovs(cpu: Cpu, i: Insn, size: number, slice: number): number {
  if (cpu.flags & DF || i.asize !== 4 || cpu.segCheck[ES] || cpu.segCheck[i.seg]) return slice;
  const regs = cpu.regs;
  const ram = cpu.ram;
  for (; slice > 0 && (regs[1] >>> 0) !== 0; slice--) {
    const src = (cpu.segBase[i.seg] + regs[6]) >>> 0;
    const dst = (cpu.segBase[ES] + regs[7]) >>> 0;
    const room = Math.min(0x1000 - (src & 0xfff), 0x1000 - (dst & 0xfff));
    if (room < size) return slice;
    const ps = ramPhys(cpu, src, false);
    if (ps < 0) return slice;
    const pd = ramPhys(cpu, dst, true);
    if (pd < 0) return slice;
    const n = Math.min(Math.floor(room / size), regs[1] >>> 0);
    const bytes = n * size;
    // forward element copy equals memmove unless the destination starts inside the source span
    if (pd > ps && pd < ps + bytes) return slice;
    if (cpu.watch[pd >>> 12]) cpu.mem.beforeWrite(pd >>> 12);
    ram.copyWithin(pd, ps, ps + bytes);
    regs[6] = (regs[6] + bytes) | 0;
    regs[7] = (regs[7] + bytes) | 0;
    regs[1] = (regs[1] - n) | 0;
  }
  return slice;
}

/** The slice ran out with iterations left: execute this instruction again next (hardware's interrupt window). */
function again(cpu: Cpu): void {
  cpu.eip = cpu.curEip;
  cpu.repResumeLin = (cpu.segBase[1] + cpu.curEip) >>> 0;
}

export function movs(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = step(cpu, size);
  if (i.rep) {
    let slice = bulkMovs(cpu, i, size, REP_SLICE);
    let n = getCount(cpu, i);
    while (n !== 0) {
      if (slice-- === 0) return again(cpu);
      cpu.writeSized(ES, getIdx(cpu, i, 7), size, cpu.readSized(i.seg, getIdx(cpu, i, 6), size));
      addIdx(cpu, i, 6, d);
      addIdx(cpu, i, 7, d);
      setCount(cpu, i, --n);
    }
    return;
  }
  cpu.writeSized(ES, getIdx(cpu, i, 7), size, cpu.readSized(i.seg, getIdx(cpu, i, 6), size));
  addIdx(cpu, i, 6, d);
  addIdx(cpu, i, 7, d);
}

export function stos(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = step(cpu, size);
  const v = cpu.getReg(size, 0);
  if (i.rep) {
    let slice = bulkStos(cpu, i, size, REP_SLICE);
    let n = getCount(cpu, i);
    while (n !== 0) {
      if (slice-- === 0) return again(cpu);
      cpu.writeSized(ES, getIdx(cpu, i, 7), size, v);
      addIdx(cpu, i, 7, d);
      setCount(cpu, i, --n);
    }
    return;
  }
  cpu.writeSized(ES, getIdx(cpu, i, 7), size, v);
  addIdx(cpu, i, 7, d);
}

export function lods(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = step(cpu, size);
  if (i.rep) {
    let n = getCount(cpu, i);
    let slice = REP_SLICE;
    while (n !== 0) {
      if (slice-- === 0) return again(cpu);
      cpu.setReg(size, 0, cpu.readSized(i.seg, getIdx(cpu, i, 6), size));
      addIdx(cpu, i, 6, d);
      setCount(cpu, i, --n);
    }
    return;
  }
  cpu.setReg(size, 0, cpu.readSized(i.seg, getIdx(cpu, i, 6), size));
  addIdx(cpu, i, 6, d);
}

export function cmps(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = step(cpu, size);
  if (i.rep) {
    let n = getCount(cpu, i);
    let slice = REP_SLICE;
    while (n !== 0) {
      if (slice-- === 0) return again(cpu);
      const a = cpu.readSized(i.seg, getIdx(cpu, i, 6), size);
      const b = cpu.readSized(ES, getIdx(cpu, i, 7), size);
      alu(cpu, 7, a, b, size);
      addIdx(cpu, i, 6, d);
      addIdx(cpu, i, 7, d);
      setCount(cpu, i, --n);
      if (getZF(cpu) !== (i.rep === 1)) break;
    }
    return;
  }
  const a = cpu.readSized(i.seg, getIdx(cpu, i, 6), size);
  const b = cpu.readSized(ES, getIdx(cpu, i, 7), size);
  alu(cpu, 7, a, b, size);
  addIdx(cpu, i, 6, d);
  addIdx(cpu, i, 7, d);
}

export function scas(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = step(cpu, size);
  const acc = cpu.getReg(size, 0);
  if (i.rep) {
    let n = getCount(cpu, i);
    let slice = REP_SLICE;
    while (n !== 0) {
      if (slice-- === 0) return again(cpu);
      const b = cpu.readSized(ES, getIdx(cpu, i, 7), size);
      alu(cpu, 7, acc, b, size);
      addIdx(cpu, i, 7, d);
      setCount(cpu, i, --n);
      if (getZF(cpu) !== (i.rep === 1)) break;
    }
    return;
  }
  alu(cpu, 7, acc, cpu.readSized(ES, getIdx(cpu, i, 7), size), size);
  addIdx(cpu, i, 7, d);
}

export function ins(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const port = cpu.regs[2] & 0xffff;
  checkIoPermission(cpu, port, size);
  const d = step(cpu, size);
  let n = i.rep ? getCount(cpu, i) : 1;
  let slice = REP_SLICE;
  while (n !== 0) {
    if (slice-- === 0) return again(cpu);
    cpu.probeWrite(ES, getIdx(cpu, i, 7), size);
    const v = cpu.io.read(port, size as 1 | 2 | 4);
    cpu.writeSized(ES, getIdx(cpu, i, 7), size, v);
    addIdx(cpu, i, 7, d);
    n--;
    if (i.rep) setCount(cpu, i, n);
  }
}

export function outs(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const port = cpu.regs[2] & 0xffff;
  checkIoPermission(cpu, port, size);
  const d = step(cpu, size);
  let n = i.rep ? getCount(cpu, i) : 1;
  let slice = REP_SLICE;
  while (n !== 0) {
    if (slice-- === 0) return again(cpu);
    const v = cpu.readSized(i.seg, getIdx(cpu, i, 6), size);
    cpu.io.write(port, size as 1 | 2 | 4, size === 4 ? v >>> 0 : v);
    addIdx(cpu, i, 6, d);
    n--;
    if (i.rep) setCount(cpu, i, n);
  }
}
