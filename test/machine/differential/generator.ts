// Random user-mode integer instruction sequences (AT&T text for GNU as) with their initial state.
// Every item is safe on its own: it never writes the case's base register or ESP (except by
// balanced stack operations), keeps memory accesses inside the scratch buffer or the stack area,
// and sets up divisions so they cannot raise #DE. That keeps any subset of items safe, which is
// what shrinking relies on.

import { Prng } from "./prng.js";

/** Linear addresses shared by the native program and the emulator. */
export const MEM_BASE = 0x00100000;
/** Scratch buffer [0, DATA_SIZE) followed by the stack area [DATA_SIZE, MEM_SIZE). */
export const MEM_SIZE = 1024;
export const DATA_SIZE = 512;
export const INIT_ESP = MEM_BASE + 896;
export const TEXT_BASE = 0x00200000;

/** Bytes the items of one case may push in total, and pop beyond what they pushed. */
const PUSH_BUDGET = 128;
const POP_BUDGET = 48;

export const R32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
const R16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const R8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
export const ESP_INDEX = 4;
const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
const CONDITIONS = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

type Size = 1 | 2 | 4;

/** One unit of generation and of shrinking: setup lines, then the instruction(s) under test. */
export interface Item {
  lines: string[];
  /** Net bytes the item leaves pushed (positive) or pops beyond its own pushes (negative). */
  stackNet: number;
}

export interface Case {
  /** Index of the case within its seed's sequence (for reproduction). */
  id: number;
  /** EAX..EDI in encoding order, unsigned. */
  regs: number[];
  eflags: number;
  mem: Uint8Array;
  items: Item[];
  /** The register holding a buffer address throughout (never written by the items). */
  base: number;
}

/** The user-visible flags we set and compare: CF PF AF ZF SF DF OF. */
export const ARITH_FLAGS = 0x0001 | 0x0004 | 0x0010 | 0x0040 | 0x0080 | 0x0800;
export const DF = 0x0400;
export const COMPARED_FLAGS = ARITH_FLAGS | DF;
/** IF and the reserved bit 1: what a Linux process runs with (IF cannot be changed in user mode). */
export const BASE_EFLAGS = 0x0202;

export function caseText(c: Case): string {
  return c.items.flatMap((i) => i.lines).join("\n");
}

function sfx(size: Size): string {
  return size === 1 ? "b" : size === 2 ? "w" : "l";
}

function regName(size: Size, idx: number): string {
  return "%" + (size === 1 ? R8[idx] : size === 2 ? R16[idx] : R32[idx]);
}

/** The 32-bit register an operand register index belongs to. */
function under(size: Size, idx: number): number {
  return size === 1 ? idx & 3 : idx;
}

function signed(v: number, size: Size): number {
  const bits = size * 8;
  const m = bits === 32 ? v >>> 0 : v & ((1 << bits) - 1);
  return bits === 32 ? m | 0 : m >= 1 << (bits - 1) ? m - (1 << bits) : m;
}

class CaseGen {
  /** Offset of the base register's value from MEM_BASE. */
  readonly bOff: number;
  private pushed = 0;
  private popped = 0;

  constructor(
    readonly rng: Prng,
    /** The register that holds MEM_BASE + bOff for the whole case. */
    readonly base: number,
  ) {
    this.bOff = rng.int(0, 256);
  }

  canWrite(r32: number): boolean {
    return r32 !== ESP && r32 !== this.base;
  }

  /** A register of the size the item may overwrite (never ESP or the base), avoiding `avoid` (32-bit indices). */
  wreg(size: Size, avoid: readonly number[] = []): number | null {
    const ok: number[] = [];
    for (let i = 0; i < 8; i++) if (this.canWrite(under(size, i)) && !avoid.includes(under(size, i))) ok.push(i);
    return ok.length ? this.rng.pick(ok) : null;
  }

  /** Any register as a read-only source. */
  rreg(): number {
    return this.rng.int(0, 7);
  }

  size(): Size {
    const x = this.rng.int(0, 99);
    return x < 30 ? 1 : x < 55 ? 2 : 4;
  }

  imm(size: Size): string {
    const v = this.rng.bool(0.4) ? this.rng.int(-128, 127) : this.rng.interesting32();
    return "$" + signed(v, size);
  }

  /**
   * A memory operand for `width` bytes inside the data buffer (offsets lo..hi of the buffer may be
   * narrowed). Index registers get their value from a `mov` added to `pre`.
   */
  mem(width: number, pre: string[], avoid: readonly number[] = [], lo = 0, hi = DATA_SIZE - width, allowStack = true): string {
    const t = this.rng.int(lo, hi);
    const seg = this.rng.bool(0.06) ? this.rng.pick(["%ds:", "%ss:", "%es:"]) : "";
    const form = this.rng.int(0, 99);
    if (form < 55) return `${seg}${t - this.bOff}(%${R32[this.base]})`;
    if (form < 75) {
      const idx = this.wreg(4, [...avoid, ESP]);
      if (idx !== null) {
        const scale = this.rng.pick([1, 2, 4, 8]);
        const k = this.rng.int(-8, 16);
        pre.push(`movl $${k}, %${R32[idx]}`);
        if (this.rng.bool(0.2)) return `${seg}${MEM_BASE + t - k * scale}(,%${R32[idx]},${scale})`;
        return `${seg}${t - this.bOff - k * scale}(%${R32[this.base]},%${R32[idx]},${scale})`;
      }
    }
    if (form < 88 || !allowStack) return `${seg}0x${(MEM_BASE + t).toString(16)}`;
    // ESP stays in [INIT_ESP - 176, INIT_ESP + 48] under any subset of items, so this stays in the stack area.
    return `${seg}${this.rng.int(0, 32)}(%esp)`;
  }

  /** A register operand the item may write, or a memory operand. */
  dest(size: Size, pre: string[], avoid: readonly number[] = []): string | null {
    if (this.rng.bool(0.55)) {
      const r = this.wreg(size, avoid);
      if (r !== null) return regName(size, r);
    }
    return this.mem(size, pre, avoid);
  }

  src(size: Size, pre: string[], avoid: readonly number[] = []): string {
    return this.rng.bool(0.6) ? regName(size, this.rreg()) : this.mem(size, pre, avoid);
  }

  usePush(bytes: number): boolean {
    if (this.pushed + bytes > PUSH_BUDGET) return false;
    this.pushed += bytes;
    return true;
  }

  usePop(bytes: number): boolean {
    if (this.popped + bytes > POP_BUDGET) return false;
    this.popped += bytes;
    return true;
  }

  /** An item with a single instruction under test (used inside forward-branch items too). */
  simple(): Item | null {
    const g = this.rng.int(0, 99);
    if (g < 16) return this.alu();
    if (g < 20) return this.testOp();
    if (g < 26) return this.unary();
    if (g < 30) return this.mov();
    if (g < 35) return this.mul();
    if (g < 39) return this.div();
    if (g < 49) return this.shift();
    if (g < 53) return this.shld();
    if (g < 58) return this.bt();
    if (g < 61) return this.bsf();
    if (g < 62) return this.bswap();
    if (g < 65) return this.xchg();
    if (g < 67) return this.xadd();
    if (g < 70) return this.cmpxchg();
    if (g < 71) return this.cmpxchg8b();
    if (g < 74) return this.movx();
    if (g < 77) return this.lea();
    if (g < 79) return this.convert();
    if (g < 82) return this.setcc();
    if (g < 85) return this.cmovcc();
    if (g < 89) return this.bcd();
    if (g < 91) return this.lahfSahf();
    if (g < 94) return this.flagOp();
    if (g < 99) return this.string();
    return this.xlat();
  }

  item(): Item | null {
    const g = this.rng.int(0, 99);
    if (g < 82) return this.simple();
    if (g < 87) return this.push();
    if (g < 90) return this.pop();
    if (g < 94) return this.pushfPopf();
    if (g < 96) return this.rng.bool(0.6) ? this.enterLeave() : this.pushaPopa();
    return this.forwardBranch();
  }

  private one(pre: string[], line: string, stackNet = 0): Item {
    return { lines: [...pre, line], stackNet };
  }

  alu(): Item | null {
    const op = this.rng.pick(["add", "adc", "sub", "sbb", "and", "or", "xor", "cmp"]);
    const size = this.size();
    const pre: string[] = [];
    const lock = op !== "cmp" && this.rng.bool(0.1) ? "lock " : "";
    const dreg = op === "cmp" ? this.rreg() : this.wreg(size);
    if (dreg === null) return null;
    switch (this.rng.int(0, 4)) {
      case 0:
        return this.one(pre, `${op}${sfx(size)} ${regName(size, this.rreg())}, ${regName(size, dreg)}`);
      case 1:
        return this.one(pre, `${op}${sfx(size)} ${this.imm(size)}, ${regName(size, dreg)}`);
      case 2: {
        const m = this.mem(size, pre);
        return this.one(pre, `${lock}${op}${sfx(size)} ${this.imm(size)}, ${m}`);
      }
      case 3: {
        const m = this.mem(size, pre);
        return this.one(pre, `${lock}${op}${sfx(size)} ${regName(size, this.rreg())}, ${m}`);
      }
      default: {
        const m = this.mem(size, pre, [under(size, dreg)]);
        return this.one(pre, `${op}${sfx(size)} ${m}, ${regName(size, dreg)}`);
      }
    }
  }

  testOp(): Item | null {
    const size = this.size();
    const pre: string[] = [];
    const a = this.rng.bool(0.5) ? this.imm(size) : regName(size, this.rreg());
    const b = this.rng.bool(0.5) ? regName(size, this.rreg()) : this.mem(size, pre);
    return this.one(pre, `test${sfx(size)} ${a}, ${b}`);
  }

  unary(): Item | null {
    const op = this.rng.pick(["inc", "dec", "neg", "not"]);
    const size = this.size();
    const pre: string[] = [];
    const d = this.dest(size, pre);
    if (d === null) return null;
    const lock = d.includes("(") && this.rng.bool(0.1) ? "lock " : "";
    return this.one(pre, `${lock}${op}${sfx(size)} ${d}`);
  }

  mov(): Item | null {
    const size = this.size();
    const pre: string[] = [];
    const r = this.wreg(size);
    if (r === null) return null;
    switch (this.rng.int(0, 4)) {
      case 0:
        return this.one(pre, `mov${sfx(size)} ${regName(size, this.rreg())}, ${regName(size, r)}`);
      case 1:
        return this.one(pre, `mov${sfx(size)} ${this.imm(size)}, ${regName(size, r)}`);
      case 2:
        return this.one(pre, `mov${sfx(size)} ${this.mem(size, pre, [under(size, r)])}, ${regName(size, r)}`);
      case 3: {
        const m = this.mem(size, pre);
        return this.one(pre, `mov${sfx(size)} ${regName(size, this.rreg())}, ${m}`);
      }
      default: {
        const m = this.mem(size, pre);
        return this.one(pre, `mov${sfx(size)} ${this.imm(size)}, ${m}`);
      }
    }
  }

  mul(): Item | null {
    const pre: string[] = [];
    const form = this.rng.int(0, 2);
    if (form === 0) {
      const size = this.size();
      if (!this.canWrite(EAX) || (size !== 1 && !this.canWrite(EDX))) return null;
      const op = this.rng.pick(["mul", "imul"]);
      return this.one(pre, `${op}${sfx(size)} ${this.src(size, pre)}`);
    }
    const size: Size = this.rng.bool() ? 2 : 4;
    const d = this.wreg(size);
    if (d === null) return null;
    const s = this.src(size, pre, [d]);
    if (form === 1) return this.one(pre, `imul${sfx(size)} ${s}, ${regName(size, d)}`);
    return this.one(pre, `imul${sfx(size)} ${this.imm(size)}, ${s}, ${regName(size, d)}`);
  }

  div(): Item | null {
    const size = this.size();
    const signedOp = this.rng.bool();
    if (!this.canWrite(EAX) || (size !== 1 && !this.canWrite(EDX))) return null;
    const pre: string[] = [];
    const bits = size * 8;
    // Divisor: non-zero, and not -1 for idiv (INT_MIN / -1 overflows).
    let d: number;
    do d = signed(this.rng.interesting32() >>> (this.rng.bool(0.5) ? this.rng.int(0, bits - 1) : 0), size);
    while (d === 0 || (signedOp && d === -1));
    const dividendRegs = size === 1 ? [EAX] : [EAX, EDX];
    let divisor: string;
    if (this.rng.bool()) {
      const r = this.wreg(size, dividendRegs);
      if (r === null) return null;
      divisor = regName(size, r);
    } else divisor = this.mem(size, pre, dividendRegs);
    pre.push(`mov${sfx(size)} $${d}, ${divisor}`);
    const hiReg = size === 1 ? "%ah" : size === 2 ? "%dx" : "%edx";
    if (!signedOp) {
      const du = size === 4 ? d >>> 0 : d & ((1 << bits) - 1);
      // High half below the divisor keeps the quotient in range.
      const hi = this.rng.bool(0.3) ? 0 : Math.floor((this.rng.u32() / 0x100000000) * du);
      pre.push(`mov${sfx(size)} $${signed(hi, size)}, ${hiReg}`);
    } else {
      const half = Math.floor(Math.abs(d) / 2) - 1;
      if (half >= 1 && this.rng.bool(0.6)) {
        pre.push(`mov${sfx(size)} $${this.rng.int(-half, half)}, ${hiReg}`);
      } else {
        pre.push(size === 1 ? "cbtw" : size === 2 ? "cwtd" : "cltd");
      }
    }
    return this.one(pre, `${signedOp ? "idiv" : "div"}${sfx(size)} ${divisor}`);
  }

  shift(): Item | null {
    const op = this.rng.pick(["shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "sal"]);
    const size = this.size();
    const pre: string[] = [];
    const form = this.rng.int(0, 2);
    if (form === 2 && this.canWrite(ECX) && this.rng.bool(0.7)) pre.push(`movb $${this.rng.int(0, 40)}, %cl`);
    const d = this.dest(size, pre, [ECX]);
    if (d === null) return null;
    if (form === 0) return this.one(pre, `${op}${sfx(size)} ${d}`);
    if (form === 1) {
      const n = this.rng.bool(0.85) ? this.rng.int(0, 31) : this.rng.int(32, 255);
      return this.one(pre, `${op}${sfx(size)} $${n}, ${d}`);
    }
    return this.one(pre, `${op}${sfx(size)} %cl, ${d}`);
  }

  shld(): Item | null {
    const op = this.rng.pick(["shld", "shrd"]);
    const size: Size = this.rng.bool() ? 2 : 4;
    const pre: string[] = [];
    const byCl = this.rng.bool();
    // 16-bit forms with a masked count above 16 have an undefined result: keep counts in range.
    if (byCl) {
      if (size === 2 || this.rng.bool(0.6)) {
        if (!this.canWrite(ECX)) return null;
        pre.push(`movb $${size === 2 ? this.rng.int(0, 16) + (this.rng.bool(0.2) ? 32 : 0) : this.rng.int(0, 40)}, %cl`);
      }
    }
    const d = this.dest(size, pre, [ECX]);
    if (d === null) return null;
    const s = regName(size, this.rreg());
    const count = byCl ? "%cl" : `$${size === 2 ? this.rng.int(0, 16) : this.rng.int(0, 31)}`;
    return this.one(pre, `${op}${sfx(size)} ${count}, ${s}, ${d}`);
  }

  bt(): Item | null {
    const op = this.rng.pick(["bt", "bts", "btr", "btc"]);
    const size: Size = this.rng.bool() ? 2 : 4;
    const pre: string[] = [];
    const form = this.rng.int(0, 2);
    const dest = (): string | null =>
      op === "bt" ? (this.rng.bool() ? regName(size, this.rreg()) : this.mem(size, pre)) : this.dest(size, pre);
    if (form === 0) {
      const d = dest();
      if (d === null) return null;
      return this.one(pre, `${op}${sfx(size)} $${this.rng.int(0, 255)}, ${d}`);
    }
    if (form === 1) {
      const d = op === "bt" ? regName(size, this.rreg()) : this.wreg(size);
      if (d === null) return null;
      const dn = typeof d === "string" ? d : regName(size, d);
      return this.one(pre, `${op}${sfx(size)} ${regName(size, this.rreg())}, ${dn}`);
    }
    // Register bit offset into memory: the offset reaches up to ±100 bytes from the operand.
    const k = this.wreg(4);
    if (k === null) return null;
    pre.push(`mov${sfx(size)} $${this.rng.int(-800, 800)}, ${regName(size, k)}`);
    const m = this.mem(size, pre, [k], 104, 404, false);
    const lock = op !== "bt" && this.rng.bool(0.1) ? "lock " : "";
    return this.one(pre, `${lock}${op}${sfx(size)} ${regName(size, k)}, ${m}`);
  }

  bsf(): Item | null {
    const op = this.rng.pick(["bsf", "bsr"]);
    const size: Size = this.rng.bool() ? 2 : 4;
    const pre: string[] = [];
    const d = this.wreg(size);
    if (d === null) return null;
    // A zero source leaves the destination undefined: force a set bit into the source first.
    const bit = "$" + signed((1 << this.rng.int(0, size * 8 - 1)) >>> 0, size);
    let s: string;
    const sr = this.rng.bool() ? this.wreg(size) : null;
    if (sr !== null) s = regName(size, sr);
    else s = this.mem(size, pre, [d]);
    pre.push(`or${sfx(size)} ${bit}, ${s}`);
    return this.one(pre, `${op}${sfx(size)} ${s}, ${regName(size, d)}`);
  }

  bswap(): Item | null {
    const r = this.wreg(4);
    return r === null ? null : this.one([], `bswap %${R32[r]}`);
  }

  xchg(): Item | null {
    const size = this.size();
    const pre: string[] = [];
    const a = this.wreg(size);
    if (a === null) return null;
    const b = this.dest(size, pre, [under(size, a)]);
    if (b === null) return null;
    return this.one(pre, `xchg${sfx(size)} ${regName(size, a)}, ${b}`);
  }

  xadd(): Item | null {
    const size = this.size();
    const pre: string[] = [];
    const a = this.wreg(size);
    if (a === null) return null;
    const b = this.dest(size, pre, [under(size, a)]);
    if (b === null) return null;
    const lock = b.includes("(") && this.rng.bool(0.2) ? "lock " : "";
    return this.one(pre, `${lock}xadd${sfx(size)} ${regName(size, a)}, ${b}`);
  }

  cmpxchg(): Item | null {
    if (!this.canWrite(EAX)) return null;
    const size = this.size();
    const pre: string[] = [];
    const d = this.dest(size, pre, [EAX]);
    if (d === null) return null;
    // Half the time make the accumulator equal to the destination so the store path runs.
    if (this.rng.bool()) pre.push(`mov${sfx(size)} ${d}, ${regName(size, EAX)}`);
    const lock = d.includes("(") && this.rng.bool(0.2) ? "lock " : "";
    return this.one(pre, `${lock}cmpxchg${sfx(size)} ${regName(size, this.rreg())}, ${d}`);
  }

  cmpxchg8b(): Item | null {
    if (!this.canWrite(EAX) || !this.canWrite(EDX)) return null;
    const pre: string[] = [];
    const t = this.rng.int(0, DATA_SIZE - 8);
    const b = `%${R32[this.base]}`;
    if (this.rng.bool()) pre.push(`movl ${t - this.bOff}(${b}), %eax`, `movl ${t + 4 - this.bOff}(${b}), %edx`);
    const lock = this.rng.bool(0.3) ? "lock " : "";
    return this.one(pre, `${lock}cmpxchg8b ${t - this.bOff}(${b})`);
  }

  movx(): Item | null {
    const [op, ss, ds] = this.rng.pick([
      ["movzbl", 1, 4], ["movzwl", 2, 4], ["movzbw", 1, 2],
      ["movsbl", 1, 4], ["movswl", 2, 4], ["movsbw", 1, 2],
    ] as const);
    const pre: string[] = [];
    const d = this.wreg(ds);
    if (d === null) return null;
    return this.one(pre, `${op} ${this.src(ss, pre, [d])}, ${regName(ds, d)}`);
  }

  lea(): Item | null {
    const size: Size = this.rng.bool(0.8) ? 4 : 2;
    const d = this.wreg(size);
    if (d === null) return null;
    const disp = this.rng.bool(0.5) ? this.rng.int(-128, 127) : this.rng.u32() | 0;
    const b = R32[this.rreg()];
    let i = R32[this.rreg()];
    if (i === "esp") i = "ebp";
    const sc = this.rng.pick([1, 2, 4, 8]);
    let addr: string;
    switch (this.rng.int(0, 4)) {
      case 0: addr = `${disp}(%${b})`; break;
      case 1: addr = `(%${b},%${i},${sc})`; break;
      case 2: addr = `${disp}(%${b},%${i},${sc})`; break;
      case 3: addr = `${disp}(,%${i},${sc})`; break;
      default: addr = `${this.rng.int(-128, 127)}(${this.rng.pick(["%bx,%si", "%bx,%di", "%bp,%si", "%bp,%di", "%si", "%di", "%bp", "%bx"])})`;
    }
    return this.one([], `lea${sfx(size)} ${addr}, ${regName(size, d)}`);
  }

  convert(): Item | null {
    const op = this.rng.pick(["cbtw", "cwtl", "cwtd", "cltd"]);
    const writes = op === "cbtw" || op === "cwtl" ? EAX : EDX;
    return this.canWrite(writes) ? this.one([], op) : null;
  }

  setcc(): Item | null {
    const pre: string[] = [];
    const d = this.dest(1, pre);
    return d === null ? null : this.one(pre, `set${this.rng.pick(CONDITIONS)} ${d}`);
  }

  cmovcc(): Item | null {
    const size: Size = this.rng.bool() ? 2 : 4;
    const pre: string[] = [];
    const d = this.wreg(size);
    if (d === null) return null;
    return this.one(pre, `cmov${this.rng.pick(CONDITIONS)}${sfx(size)} ${this.src(size, pre, [d])}, ${regName(size, d)}`);
  }

  bcd(): Item | null {
    if (!this.canWrite(EAX)) return null;
    const op = this.rng.pick(["daa", "das", "aaa", "aas", "aam", "aad"]);
    if (op === "aam") return this.one([], this.rng.bool(0.4) ? "aam" : `aam $${this.rng.int(1, 255)}`);
    if (op === "aad") return this.one([], this.rng.bool(0.4) ? "aad" : `aad $${this.rng.int(0, 255)}`);
    return this.one([], op);
  }

  lahfSahf(): Item | null {
    if (this.rng.bool()) return this.one([], "sahf");
    return this.canWrite(EAX) ? this.one([], "lahf") : null;
  }

  flagOp(): Item | null {
    if (this.rng.bool(0.15)) return this.one([], this.rng.pick(["nop", "nopw 0(%eax,%eax,1)", "nopl 0x12345678(%esi,%edi,4)", "xchgl %eax, %eax"]));
    return this.one([], this.rng.pick(["clc", "stc", "cmc", "cld", "std"]));
  }

  string(): Item | null {
    const op = this.rng.pick(["movs", "stos", "lods", "cmps", "scas"]);
    const size = this.size();
    const usesSi = op === "movs" || op === "lods" || op === "cmps";
    const usesDi = op !== "lods";
    const prefix =
      this.rng.bool(0.35) ? "" : op === "cmps" || op === "scas" ? this.rng.pick(["repe ", "repne "]) : "rep ";
    const writes = [...(usesSi ? [ESI] : []), ...(usesDi ? [EDI] : []), ...(prefix ? [ECX] : []), ...(op === "lods" ? [EAX] : [])];
    if (writes.some((r) => !this.canWrite(r))) return null;
    const pre: string[] = [];
    // At most 16 elements of 4 bytes either way (DF may be 0 or 1) from a start inside [72, 436).
    const at = (): string =>
      this.rng.bool(0.8) ? `${this.rng.int(72, 436) - this.bOff}(%${R32[this.base]})` : `0x${(MEM_BASE + this.rng.int(72, 436)).toString(16)}`;
    if (usesSi) pre.push(`leal ${at()}, %esi`);
    if (usesDi) pre.push(`leal ${at()}, %edi`);
    if (prefix) pre.push(`movl $${this.rng.int(0, 16)}, %ecx`);
    // A segment override applies to the source (DS:ESI) only; every segment is flat here.
    const seg = usesSi && this.rng.bool(0.15) ? `${this.rng.pick(["ss", "cs", "es", "ds"])}; ` : "";
    return this.one(pre, `${seg}${prefix}${op}${sfx(size)}`);
  }

  xlat(): Item | null {
    if (!this.canWrite(EAX)) return null;
    const pre: string[] = [];
    if (this.base !== EBX) {
      if (!this.canWrite(EBX)) return null;
      pre.push(`leal ${this.rng.int(0, 256) - this.bOff}(%${R32[this.base]}), %ebx`);
    }
    return this.one(pre, "xlat");
  }

  push(): Item | null {
    const size: Size = this.rng.bool(0.8) ? 4 : 2;
    if (!this.usePush(size)) return null;
    const pre: string[] = [];
    let opnd: string;
    switch (this.rng.int(0, 2)) {
      case 0: opnd = regName(size, this.rreg()); break;
      case 1: opnd = this.imm(size); break;
      default: opnd = this.mem(size, pre);
    }
    return this.one(pre, `push${sfx(size)} ${opnd}`, size);
  }

  pop(): Item | null {
    const size: Size = this.rng.bool(0.8) ? 4 : 2;
    const pre: string[] = [];
    let opnd: string | null;
    if (this.rng.bool(0.7)) {
      const r = this.wreg(size);
      opnd = r === null ? null : regName(size, r);
    } else opnd = this.mem(size, pre); // ESP-relative too: the address is computed after the pop
    if (opnd === null || !this.usePop(size)) return null;
    return this.one(pre, `pop${sfx(size)} ${opnd}`, -size);
  }

  /** Values popped into EFLAGS change only the arithmetic flags and DF (IF stays 1, no TF/AC/IOPL/NT). */
  pushfPopf(): Item | null {
    const flags = (): number => (this.rng.u32() & COMPARED_FLAGS) | BASE_EFLAGS;
    switch (this.rng.int(0, 4)) {
      case 0: {
        const r = this.wreg(4);
        return r === null ? null : { lines: ["pushfl", `popl %${R32[r]}`], stackNet: 0 };
      }
      case 1: {
        const r = this.wreg(2);
        return r === null ? null : { lines: ["pushfw", `popw ${regName(2, r)}`], stackNet: 0 };
      }
      case 2:
        return { lines: [`pushl $0x${flags().toString(16)}`, "popfl"], stackNet: 0 };
      case 3:
        return { lines: [`pushw $0x${flags().toString(16)}`, "popfw"], stackNet: 0 };
      default:
        return { lines: ["pushfl", `xorl $0x${(this.rng.u32() & COMPARED_FLAGS).toString(16)}, (%esp)`, "popfl"], stackNet: 0 };
    }
  }

  /** pusha; change a saved slot; popa. The ESP slot is ignored by popa; the base register's slot is left alone. */
  pushaPopa(): Item | null {
    const wide = this.rng.bool(0.75);
    const slotSize = wide ? 4 : 2;
    // pusha stores EAX ECX EDX EBX ESP EBP ESI EDI downwards: EDI is at (%esp).
    const slots = [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => r !== this.base);
    const r = this.rng.pick(slots);
    const off = (7 - r) * slotSize;
    const lines = [wide ? "pushal" : "pushaw"];
    if (this.rng.bool(0.8)) lines.push(`xor${wide ? "l" : "w"} ${this.imm(slotSize)}, ${off}(%esp)`);
    lines.push(wide ? "popal" : "popaw");
    return { lines, stackNet: 0 };
  }

  enterLeave(): Item | null {
    if (!this.canWrite(EBP)) return null;
    const level = this.rng.pick([0, 0, 1, 2, 3]);
    const lines = [`leal -${this.rng.int(0, 8) * 4}(%esp), %ebp`, `enter $${this.rng.int(0, 32)}, $${level}`];
    if (this.rng.bool()) {
      const r = this.rreg();
      lines.push(`movl %${R32[r]}, -4(%ebp)`);
    }
    lines.push("leave");
    return { lines, stackNet: 0 };
  }

  /** A forward conditional branch over one instruction (the setup of that instruction runs first). */
  forwardBranch(): Item | null {
    const inner = this.simple();
    if (inner === null || inner.lines.length === 0) return null;
    const kind = this.rng.int(0, 9);
    let br: string;
    if (kind < 7) br = `${this.rng.bool(0.3) ? "{disp32} " : ""}j${this.rng.pick(CONDITIONS)} 1f`;
    else if (kind === 7) br = this.rng.bool() ? "jecxz 1f" : "jcxz 1f";
    else {
      if (!this.canWrite(ECX) || inner.lines.some((l) => /%(e?cx|c[lh])\b/.test(l))) return null;
      br = `${this.rng.bool(0.25) ? "addr16 " : ""}${this.rng.pick(["loop", "loope", "loopne"])} 1f`;
    }
    const pre = inner.lines.slice(0, -1);
    return { lines: [...pre, br, inner.lines[inner.lines.length - 1]!, "1:"], stackNet: 0 };
  }
}

/** Generate case number `id` of the sequence for `seed` (each case has its own PRNG stream). */
export function generateCase(seed: number, id: number): Case {
  const rng = new Prng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(id + 1, 0xc2b2ae35)) >>> 0);
  // Warm the stream so adjacent ids diverge at once.
  rng.u32();
  rng.u32();
  const base = rng.pick([EBX, EBX, EBX, EBP, ESI, EDI, EAX, ECX, EDX]);
  const gen = new CaseGen(rng, base);
  const regs: number[] = [];
  for (let r = 0; r < 8; r++) regs.push(rng.interesting32());
  regs[ESP] = INIT_ESP;
  regs[base] = MEM_BASE + gen.bOff;
  const eflags = BASE_EFLAGS | (rng.u32() & ARITH_FLAGS) | (rng.bool(0.25) ? DF : 0);
  const mem = new Uint8Array(MEM_SIZE);
  const dv = new DataView(mem.buffer);
  for (let o = 0; o < MEM_SIZE; o += 4) dv.setUint32(o, rng.bool(0.15) ? 0 : rng.interesting32(), true);
  const items: Item[] = [];
  const want = rng.int(1, 6);
  let tries = 0;
  while (items.length < want && tries++ < 100) {
    const it = gen.item();
    if (it !== null) items.push(it);
  }
  return { id, regs, eflags, mem, items, base };
}

export function generateCases(seed: number, count: number, firstId = 0): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < count; i++) out.push(generateCase(seed, firstId + i));
  return out;
}
