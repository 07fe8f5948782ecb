// EFLAGS bits and the lazy arithmetic flags.
//
// The arithmetic flags (CF PF AF ZF SF OF) are computed on demand from the last operation's
// operands and result: an ALU instruction only stores (op, a, b, res, shift) and marks the bits it
// defines in `lazyMask`. `shift` is 32 - operand bits (mod 32: 0 for 32-bit), so `x << shift`
// brings the operand's sign bit to bit 31 and drops the bits above the operand size.

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const VIF = 0x80000;
export const VIP = 0x100000;
export const ID = 0x200000;

export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Bits that exist on this CPU (486-class with CPUID: AC and ID exist; VIF/VIP are not offered). */
export const EFLAGS_VALID = ARITH | TF | IF | DF | IOPL | NT | RF | VM | AC | ID;

export const enum LazyOp {
  Add = 1,
  /** adc with carry-in 1 */
  Adc1 = 2,
  Sub = 3,
  /** sbb with borrow-in 1 */
  Sbb1 = 4,
  Logic = 5,
}

const parityTable = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = 0; b < 8; b++) p ^= (i >> b) & 1;
  parityTable[i] = p ? PF : 0;
}
export const PARITY = parityTable;

/** The lazy state the CPU keeps (fields live on the Cpu object itself for speed). */
export interface LazyFlags {
  flags: number;
  lazyMask: number;
  lazyOp: number;
  lazyA: number;
  lazyB: number;
  lazyRes: number;
  lazyShift: number;
}

export function lazyCF(s: LazyFlags): number {
  const sh = s.lazyShift;
  switch (s.lazyOp) {
    case LazyOp.Add:
      return ((s.lazyRes << sh) >>> 0) < ((s.lazyA << sh) >>> 0) ? 1 : 0;
    case LazyOp.Adc1:
      return ((s.lazyRes << sh) >>> 0) <= ((s.lazyA << sh) >>> 0) ? 1 : 0;
    case LazyOp.Sub:
      return ((s.lazyA << sh) >>> 0) < ((s.lazyB << sh) >>> 0) ? 1 : 0;
    case LazyOp.Sbb1:
      return ((s.lazyA << sh) >>> 0) <= ((s.lazyB << sh) >>> 0) ? 1 : 0;
    default:
      return 0;
  }
}

export function lazyOF(s: LazyFlags): boolean {
  const sh = s.lazyShift;
  switch (s.lazyOp) {
    case LazyOp.Add:
    case LazyOp.Adc1:
      return (((s.lazyA ^ s.lazyRes) & (s.lazyB ^ s.lazyRes)) << sh) < 0;
    case LazyOp.Sub:
    case LazyOp.Sbb1:
      return (((s.lazyA ^ s.lazyB) & (s.lazyA ^ s.lazyRes)) << sh) < 0;
    default:
      return false;
  }
}

/** Compute every bit named in lazyMask. */
export function computeLazy(s: LazyFlags): number {
  const m = s.lazyMask;
  let f = 0;
  if (m & CF) f |= lazyCF(s);
  if (m & PF) f |= PARITY[s.lazyRes & 0xff];
  if (m & AF && s.lazyOp !== LazyOp.Logic) f |= (s.lazyA ^ s.lazyB ^ s.lazyRes) & AF;
  if (m & ZF && s.lazyRes << s.lazyShift === 0) f |= ZF;
  if (m & SF && s.lazyRes << s.lazyShift < 0) f |= SF;
  if (m & OF && lazyOF(s)) f |= OF;
  return f & m;
}

/** Fold the lazy bits into `flags`. */
export function materialize(s: LazyFlags): void {
  if (s.lazyMask) {
    s.flags = (s.flags & ~s.lazyMask) | computeLazy(s);
    s.lazyMask = 0;
  }
}

export function getCF(s: LazyFlags): number {
  return s.lazyMask & CF ? lazyCF(s) : s.flags & CF;
}
export function getZF(s: LazyFlags): boolean {
  return s.lazyMask & ZF ? s.lazyRes << s.lazyShift === 0 : (s.flags & ZF) !== 0;
}
export function getSF(s: LazyFlags): boolean {
  return s.lazyMask & SF ? s.lazyRes << s.lazyShift < 0 : (s.flags & SF) !== 0;
}
export function getOF(s: LazyFlags): boolean {
  return s.lazyMask & OF ? lazyOF(s) : (s.flags & OF) !== 0;
}
export function getPF(s: LazyFlags): boolean {
  return s.lazyMask & PF ? PARITY[s.lazyRes & 0xff] !== 0 : (s.flags & PF) !== 0;
}
export function getAF(s: LazyFlags): boolean {
  return s.lazyMask & AF ? s.lazyOp !== LazyOp.Logic && ((s.lazyA ^ s.lazyB ^ s.lazyRes) & AF) !== 0 : (s.flags & AF) !== 0;
}

/** Condition codes 0–15 (the low nibble of Jcc/SETcc/CMOVcc). */
export function testCC(s: LazyFlags, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0:
      r = getOF(s);
      break;
    case 1:
      r = getCF(s) !== 0;
      break;
    case 2:
      r = getZF(s);
      break;
    case 3:
      r = getCF(s) !== 0 || getZF(s);
      break;
    case 4:
      r = getSF(s);
      break;
    case 5:
      r = getPF(s);
      break;
    case 6:
      r = getSF(s) !== getOF(s);
      break;
    default:
      r = getZF(s) || getSF(s) !== getOF(s);
      break;
  }
  return cc & 1 ? !r : r;
}

/** Set bits `mask` of the materialised flags to `bits` (lazy bits covered by mask stop being lazy). */
export function setFlagBits(s: LazyFlags, mask: number, bits: number): void {
  if (s.lazyMask & ~mask) materialize(s);
  s.lazyMask &= ~mask;
  s.flags = (s.flags & ~mask) | (bits & mask);
}
