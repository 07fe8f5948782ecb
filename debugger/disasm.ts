// Instruction decoding for the debugger (iced-x86): GAS text for the Disassembly View, lengths and
// control flow for stepping, and the memory operands an instruction touches for data breakpoints.
// Decoded instructions are cached by address and checked against the current bytes, so
// self-modifying code and the wedge's rewrites are always shown as they are in memory.

import { Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax, Instruction, InstructionInfoFactory, MemorySizeExt, OpAccess, Register } from "iced-x86";

export interface MemoryOperand {
  base: number; // general register index 0–7, or -1
  index: number;
  scale: number;
  displacement: number;
  segment: number; // segment register index 0–5, or -1
  size: number;
  read: boolean;
  write: boolean;
  /** Register width of base/index (2 in 16-bit addressing). */
  addressSize: 2 | 4;
}

export interface DecodedInstruction {
  address: number;
  length: number;
  bytes: Uint8Array;
  /** AT&T (GNU as) syntax. */
  text: string;
  isCall: boolean;
  isReturn: boolean;
  /** A software interrupt (int n, int3, int1, into): the handler returns past it, as a call does. */
  isInterrupt: boolean;
  /** Falls through to the next instruction (no branch, call, return or interrupt). */
  isPlain: boolean;
  /** Target of a direct near branch or call. */
  branchTarget?: number;
  invalid: boolean;
  memory: MemoryOperand[];
}

const formatter = new Formatter(FormatterSyntax.Gas);
formatter.firstOperandCharIndex = 8;
formatter.spaceAfterOperandSeparator = true;
formatter.uppercaseHex = false;
const infoFactory = new InstructionInfoFactory();

function regIndex(r: Register): { index: number; size: 2 | 4 } | undefined {
  if (r >= Register.EAX && r <= Register.EDI) return { index: r - Register.EAX, size: 4 };
  if (r >= Register.AX && r <= Register.DI) return { index: r - Register.AX, size: 2 };
  return undefined;
}

const cache = new Map<string, DecodedInstruction>();

function key(address: number, bitness: number, bytes: Uint8Array): string {
  let k = `${bitness}:${address}:`;
  for (let i = 0; i < bytes.length; i++) k += bytes[i].toString(16) + ",";
  return k;
}

/** Decode one instruction from `bytes` (at most 15 used) located at `address`. */
export function decodeAt(address: number, bytes: Uint8Array, bitness: 16 | 32 = 32, withMemory = false): DecodedInstruction {
  const window = bytes.subarray(0, 15);
  const k = key(address, bitness, window);
  const hit = cache.get(k) as (DecodedInstruction & { withMemory?: boolean }) | undefined;
  if (hit && (!withMemory || hit.withMemory)) return hit;
  const decoder = new Decoder(bitness, window, DecoderOptions.None);
  decoder.ip = BigInt(address >>> 0);
  const insn = decoder.decode();
  try {
    const invalid = insn.isInvalid;
    const length = invalid ? 1 : insn.length;
    const text = invalid ? `.byte 0x${(window[0] ?? 0).toString(16).padStart(2, "0")}` : formatter.format(insn);
    const fc = insn.flowControl;
    const memory: MemoryOperand[] = [];
    if (withMemory && !invalid) {
      const info = infoFactory.info(insn);
      for (const m of info.usedMemory()) {
        const acc = m.access as OpAccess;
        const b = regIndex(m.base as Register);
        const x = regIndex(m.index as Register);
        const seg = m.segment as Register;
        memory.push({
          base: b ? b.index : -1,
          index: x ? x.index : -1,
          scale: m.scale as number,
          displacement: Number(BigInt.asIntN(32, m.displacement as bigint)),
          segment: seg >= Register.ES && seg <= Register.GS ? seg - Register.ES : -1,
          size: MemorySizeExt.size(m.memorySize) || 4,
          read: acc === OpAccess.Read || acc === OpAccess.CondRead || acc === OpAccess.ReadWrite || acc === OpAccess.ReadCondWrite,
          write: acc === OpAccess.Write || acc === OpAccess.CondWrite || acc === OpAccess.ReadWrite || acc === OpAccess.ReadCondWrite,
          addressSize: b?.size ?? x?.size ?? (bitness === 16 ? 2 : 4),
        });
        m.free();
      }
      info.free();
    }
    const d: DecodedInstruction & { withMemory?: boolean } = {
      address: address >>> 0,
      length,
      bytes: window.slice(0, length),
      text,
      isCall: fc === FlowControl.Call || fc === FlowControl.IndirectCall,
      isReturn: fc === FlowControl.Return,
      isInterrupt: fc === FlowControl.Interrupt,
      isPlain: fc === FlowControl.Next,
      branchTarget: fc === FlowControl.ConditionalBranch || fc === FlowControl.UnconditionalBranch || fc === FlowControl.Call ? Number(insn.nearBranchTarget) >>> 0 : undefined,
      invalid,
      memory,
      withMemory,
    };
    if (cache.size > 50_000) cache.clear();
    cache.set(k, d);
    return d;
  } finally {
    insn.free();
    decoder.free();
  }
}

/**
 * The length of the instruction starting at each of the first `count` offsets of `bytes` (1 where
 * nothing valid starts): one decoder over the whole buffer, for searching instruction boundaries.
 */
export function instructionLengths(bytes: Uint8Array, count: number, bitness: 16 | 32 = 32): Uint8Array {
  const out = new Uint8Array(count);
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  const insn = new Instruction();
  try {
    for (let i = 0; i < count; i++) {
      decoder.position = i;
      decoder.decodeOut(insn);
      out[i] = insn.isInvalid ? 1 : insn.length;
    }
  } finally {
    insn.free();
    decoder.free();
  }
  return out;
}

export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Disassemble an original (pre-rewrite) byte sequence as text lines (for marking rewritten sites). */
export function disassembleBytes(address: number, bytes: Uint8Array, bitness: 16 | 32 = 32): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < bytes.length) {
    const d = decodeAt(address + off, bytes.subarray(off), bitness);
    out.push(d.text);
    off += d.length;
  }
  return out;
}
