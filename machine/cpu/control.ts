// Near control transfer, stack instructions, loops and software interrupts.

import type { Cpu } from "./cpu.js";
import type { Insn } from "./decoder.js";
import { CpuFault, Vec } from "./fault.js";
import { getOF, getZF, testCC } from "./flags.js";
import { deliverException } from "./interrupts.js";

export function nop(): void {}

/** Set EIP to a near target (masked to the operand size), checking the CS limit. */
export function jumpNear(cpu: Cpu, target: number, osize: number): void {
  const t = osize === 4 ? target >>> 0 : target & 0xffff;
  if (t > cpu.segs[1].limit) throw new CpuFault(Vec.GP, 0);
  cpu.eip = t;
}

export function jcc(cpu: Cpu, i: Insn): void {
  if (testCC(cpu, i.sub)) jumpNear(cpu, cpu.eip + i.imm, i.osize);
}
export function jmpRel(cpu: Cpu, i: Insn): void {
  jumpNear(cpu, cpu.eip + i.imm, i.osize);
}
export function callRel(cpu: Cpu, i: Insn): void {
  const ret = cpu.eip;
  const t = i.osize === 4 ? (ret + i.imm) >>> 0 : (ret + i.imm) & 0xffff;
  if (t > cpu.segs[1].limit) throw new CpuFault(Vec.GP, 0);
  cpu.push(i.osize, ret);
  cpu.eip = t;
}
export function callE(cpu: Cpu, i: Insn): void {
  const ret = cpu.eip;
  const t = i.osize === 4 ? cpu.readE(i) >>> 0 : cpu.readE(i) & 0xffff;
  if (t > cpu.segs[1].limit) throw new CpuFault(Vec.GP, 0);
  cpu.push(i.osize, ret);
  cpu.eip = t;
}
export function jmpE(cpu: Cpu, i: Insn): void {
  jumpNear(cpu, cpu.readE(i), i.osize);
}
export function retNear(cpu: Cpu, i: Insn): void {
  const t = cpu.peek(i.osize, 0);
  jumpNear(cpu, t, i.osize);
  cpu.adjustSp(i.osize + (i.op === 0xc2 ? i.imm : 0));
}
export function loop(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  let n: number;
  if (i.asize === 4) n = r[1] = (r[1] - 1) | 0;
  else {
    n = (r[1] - 1) & 0xffff;
    r[1] = (r[1] & ~0xffff) | n;
  }
  let take = n !== 0;
  if (i.sub === 0) take = take && !getZF(cpu);
  else if (i.sub === 1) take = take && getZF(cpu);
  if (take) jumpNear(cpu, cpu.eip + i.imm, i.osize);
}
export function jcxz(cpu: Cpu, i: Insn): void {
  const c = i.asize === 4 ? cpu.regs[1] : cpu.regs[1] & 0xffff;
  if (c === 0) jumpNear(cpu, cpu.eip + i.imm, i.osize);
}

// ---------------------------------------------------------------- stack

export function pushReg(cpu: Cpu, i: Insn): void {
  cpu.push(i.osize, cpu.getReg(i.osize, i.sub));
}
export function popReg(cpu: Cpu, i: Insn): void {
  const v = cpu.pop(i.osize);
  cpu.setReg(i.osize, i.sub, v);
}
export function pushImm(cpu: Cpu, i: Insn): void {
  cpu.push(i.osize, i.imm);
}
export function pushE(cpu: Cpu, i: Insn): void {
  cpu.push(i.osize, cpu.readE(i));
}
export function popE(cpu: Cpu, i: Insn): void {
  // the destination address is computed with ESP already incremented
  const v = cpu.peek(i.osize, 0);
  const oldSp = cpu.regs[4];
  cpu.adjustSp(i.osize);
  try {
    cpu.writeE(i, v);
  } catch (e) {
    cpu.regs[4] = oldSp;
    throw e;
  }
}
export function pusha(cpu: Cpu, i: Insn): void {
  const s = i.osize;
  const r = cpu.regs;
  const sp = cpu.stack32 ? r[4] : r[4] & 0xffff;
  cpu.probeWrite(2, cpu.stack32 ? (sp - 8 * s) | 0 : (sp - 8 * s) & 0xffff, 8 * s);
  const vals = [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]];
  for (const v of vals) cpu.push(s, v);
}
export function popa(cpu: Cpu, i: Insn): void {
  const s = i.osize;
  const vals: number[] = [];
  for (let k = 0; k < 8; k++) vals.push(cpu.peek(s, k * s));
  cpu.adjustSp(8 * s);
  for (let k = 0; k < 8; k++) if (k !== 3) cpu.setReg(s, 7 - k, vals[k]);
}
export function enter(cpu: Cpu, i: Insn): void {
  const s = i.osize;
  const r = cpu.regs;
  const alloc = i.imm & 0xffff;
  const level = i.imm2 & 0x1f;
  const oldSp = r[4];
  const oldBp = r[5];
  try {
    cpu.push(s, r[5]);
    const frame = cpu.stack32 ? r[4] : r[4] & 0xffff;
    if (level > 0) {
      let bp = cpu.stack32 ? oldBp : oldBp & 0xffff;
      for (let k = 1; k < level; k++) {
        bp = cpu.stack32 ? (bp - s) | 0 : (bp - s) & 0xffff;
        cpu.push(s, s === 4 ? cpu.read32(2, bp) : cpu.read16(2, bp));
      }
      cpu.push(s, frame);
    }
    cpu.adjustSp(-alloc);
    // the final stack pointer must be writable
    cpu.probeWrite(2, cpu.stack32 ? r[4] : r[4] & 0xffff, 1);
    cpu.setReg(s, 5, frame);
  } catch (e) {
    r[4] = oldSp;
    r[5] = oldBp;
    throw e;
  }
}
export function leave(cpu: Cpu, i: Insn): void {
  const r = cpu.regs;
  const bp = cpu.stack32 ? r[5] : r[5] & 0xffff;
  const v = i.osize === 4 ? cpu.read32(2, bp) : cpu.read16(2, bp);
  if (cpu.stack32) r[4] = (bp + i.osize) | 0;
  else r[4] = (r[4] & ~0xffff) | ((bp + i.osize) & 0xffff);
  cpu.setReg(i.osize, 5, v);
}

// ---------------------------------------------------------------- software interrupts

export function intN(cpu: Cpu, i: Insn): void {
  deliverException(cpu, i.imm & 0xff, undefined, true);
  cpu.breakBlock = true;
}
export function int3(cpu: Cpu): void {
  deliverException(cpu, Vec.BP, undefined, true);
  cpu.breakBlock = true;
}
export function int1(cpu: Cpu): void {
  // icebp: a debug trap delivered like a hardware event (no gate DPL check)
  deliverException(cpu, Vec.DB, undefined, false);
  cpu.breakBlock = true;
}
export function into(cpu: Cpu): void {
  if (getOF(cpu)) {
    deliverException(cpu, Vec.OF, undefined, true);
    cpu.breakBlock = true;
  }
}
