// Decoding guest instructions for the loader (what a site starts with, how long it is, whether its padding is
// NOPs) and for the trap backend (operands of a sensitive-unprivileged instruction). iced-x86 decodes; the opcode
// key the catalogue uses (core/isa DecodedForm) is read from the bytes with the same rules as the emulator's decoder.

import type * as Iced from "iced-x86";
import type { DecodedForm } from "../core/isa/index.js";

type Register = Iced.Register;

let iced: typeof Iced | undefined;

/**
 * iced-x86, loaded on first use: loading it compiles megabytes of JavaScript and instantiates its
 * wasm (about 100 ms), which every `afterburn burn` and `sites` paid for nothing.
 */
function icedX86(): typeof Iced {
  return (iced ??= require("iced-x86") as typeof Iced);
}

export type RegRef =
  | { kind: "gpr"; index: number; size: 1 | 2 | 4; high: boolean }
  | { kind: "sreg"; index: number }
  | { kind: "cr"; n: number }
  | { kind: "dr"; n: number }
  | { kind: "other"; name: string };

export type Operand =
  | { kind: "reg"; reg: RegRef }
  | { kind: "mem"; seg: number; base: number; index: number; scale: number; disp: number }
  | { kind: "imm"; value: number }
  | { kind: "other" };

export interface DecodedInsn {
  length: number;
  /** iced-x86 Code name ("Cli", "Mov_cr_r32"...). */
  code: string;
  mnemonic: string;
  /** AT&T text, e.g. "mov %eax,%cr3". */
  text: string;
  form: DecodedForm;
  /** Operands in Intel order (destination first). */
  operands: Operand[];
  isNop: boolean;
  /** Operand-size prefix present (16-bit operand in 32-bit code). */
  opsize16: boolean;
}

const LEGACY_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

// Opcodes with a ModRM byte (one-byte map; the 0F map is the complement of the no-ModRM list).
const ONE_BYTE_MODRM = new Set([
  ...[0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38].flatMap((b) => range(b, b + 3)),
  0x62, 0x63, 0x69, 0x6b, ...range(0x80, 0x8f), 0xc0, 0xc1, ...range(0xc4, 0xc7), ...range(0xd0, 0xd3),
  ...range(0xd8, 0xdf), 0xf6, 0xf7, 0xfe, 0xff,
]);
const TWO_BYTE_NO_MODRM = new Set([
  0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, ...range(0x30, 0x37), 0x77, ...range(0x80, 0x8f),
  0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa, ...range(0xc8, 0xcf),
]);

/**
 * The machine form (opcode key + ModRM fields + candidate mandatory prefix) of the instruction at the start of
 * `bytes` (32-bit code). 0F 38 xx / 0F 3A xx are 0x200 / 0x300 + xx; prefix is the last F2/F3, else 66.
 */
export function formOf(bytes: Uint8Array): DecodedForm {
  let i = 0;
  let prefix = 0;
  let opsize = false;
  for (; i < bytes.length && LEGACY_PREFIXES.has(bytes[i]!); i++) {
    if (bytes[i] === 0xf2 || bytes[i] === 0xf3) prefix = bytes[i]!;
    else if (bytes[i] === 0x66) opsize = true;
  }
  if (!prefix && opsize) prefix = 0x66;
  const form = (f: DecodedForm): DecodedForm => (prefix ? { ...f, prefix } : f);
  let opcode = bytes[i++] ?? 0;
  if (opcode === 0x0f) opcode = 0x100 + (bytes[i++] ?? 0);
  if (opcode === 0x138 || opcode === 0x13a) opcode = (opcode === 0x138 ? 0x200 : 0x300) + (bytes[i++] ?? 0);
  const modrm = opcode >= 0x200 || (opcode >= 0x100 ? !TWO_BYTE_NO_MODRM.has(opcode - 0x100) : ONE_BYTE_MODRM.has(opcode));
  if (!modrm) return form({ opcode });
  const m = bytes[i] ?? 0;
  return form({ opcode, reg: (m >> 3) & 7, rm: m & 7, mem: m >> 6 !== 3 });
}

const GPR32 = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];
const GPR16 = ["AX", "CX", "DX", "BX", "SP", "BP", "SI", "DI"];
const GPR8 = ["AL", "CL", "DL", "BL", "AH", "CH", "DH", "BH"];
const SREGS = ["ES", "CS", "SS", "DS", "FS", "GS"];

export function regRef(r: Register): RegRef {
  const name = icedX86().Register[r] ?? "None";
  let k = GPR32.indexOf(name);
  if (k >= 0) return { kind: "gpr", index: k, size: 4, high: false };
  k = GPR16.indexOf(name);
  if (k >= 0) return { kind: "gpr", index: k, size: 2, high: false };
  k = GPR8.indexOf(name);
  if (k >= 0) return { kind: "gpr", index: k & 3, size: 1, high: k >= 4 };
  k = SREGS.indexOf(name);
  if (k >= 0) return { kind: "sreg", index: k };
  if (/^CR\d+$/.test(name)) return { kind: "cr", n: Number(name.slice(2)) };
  if (/^DR\d+$/.test(name)) return { kind: "dr", n: Number(name.slice(2)) };
  return { kind: "other", name };
}

function gprIndex(r: Register): number {
  const ref = regRef(r);
  return ref.kind === "gpr" && ref.size === 4 ? ref.index : -1;
}

let formatter: Iced.Formatter | undefined;

/** Decode one 32-bit instruction at `ip`; undefined when the bytes are not a valid instruction. */
export function decode32(bytes: Uint8Array, ip: number): DecodedInsn | undefined {
  const { Code, Decoder, DecoderOptions, Formatter, FormatterSyntax, Mnemonic, OpKind, Register } = icedX86();
  const d = new Decoder(32, bytes, DecoderOptions.None);
  d.ip = BigInt(ip >>> 0);
  const ins = d.decode();
  try {
    if (ins.code === Code.INVALID || ins.length === 0) return undefined;
    formatter ??= new Formatter(FormatterSyntax.Gas);
    const operands: Operand[] = [];
    for (let n = 0; n < ins.opCount; n++) {
      const k = ins.opKind(n);
      if (k === OpKind.Register) operands.push({ kind: "reg", reg: regRef(ins.opRegister(n)) });
      else if (k === OpKind.Memory) {
        const seg = SREGS.indexOf(Register[ins.memorySegment] ?? "DS");
        operands.push({
          kind: "mem",
          seg: seg < 0 ? 3 : seg,
          base: gprIndex(ins.memoryBase),
          index: gprIndex(ins.memoryIndex),
          scale: ins.memoryIndexScale,
          disp: Number(BigInt.asUintN(32, ins.memoryDisplacement)),
        });
      } else if (
        k === OpKind.Immediate8 || k === OpKind.Immediate16 || k === OpKind.Immediate32 ||
        k === OpKind.Immediate8to16 || k === OpKind.Immediate8to32 || k === OpKind.Immediate8_2nd
      ) {
        operands.push({ kind: "imm", value: Number(BigInt.asUintN(32, ins.immediate(n))) });
      } else operands.push({ kind: "other" });
    }
    let p = 0;
    let opsize16 = false;
    while (p < ins.length && LEGACY_PREFIXES.has(bytes[p]!)) if (bytes[p++] === 0x66) opsize16 = true;
    return {
      length: ins.length,
      code: Code[ins.code] ?? String(ins.code),
      mnemonic: (Mnemonic[ins.mnemonic] ?? "").toLowerCase(),
      text: formatter.format(ins),
      form: formOf(bytes.subarray(0, ins.length)),
      operands,
      isNop: ins.mnemonic === Mnemonic.Nop,
      opsize16,
    };
  } finally {
    ins.free();
    d.free();
  }
}
