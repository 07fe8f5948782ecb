// What of a case's outcome the architecture defines, from iced-x86's per-instruction flag facts:
// a flag is compared only if the last instruction that may have written it defined it. A case
// whose instruction reads a flag that is undefined at that point is not comparable at all (its
// registers or memory may legitimately differ between CPU models).

import { Code, Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax, Instruction, Mnemonic } from "iced-x86";
import { COMPARED_FLAGS } from "./generator.js";
import { oracle } from "./native.js";

/**
 * Flags an oracle is known to get wrong, per mnemonic, treated as undefined when that oracle runs.
 * QEMU 7.2's i386 translator writes garbage into CF/PF/AF/SF/DF/OF on cmpxchg8b, which the SDM says it leaves
 * unaffected (found by this harness: the emulator keeps them, as the SDM says).
 */
const ORACLE_QUIRKS: Record<string, ReadonlyMap<number, number>> = {
  native: new Map(),
  qemu: new Map([[Mnemonic.Cmpxchg8b, 0x1 | 0x4 | 0x10 | 0x80 | 0x400 | 0x800]]),
};

const DF = 0x400;
/** CF PF AF ZF SF OF. */
const ARITHMETIC_FLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800;

/** iced RflagsBits → EFLAGS bits. */
const ICED_TO_EFLAGS: readonly [number, number][] = [
  [1, 0x800], // OF
  [2, 0x80], // SF
  [4, 0x40], // ZF
  [8, 0x10], // AF
  [16, 0x1], // CF
  [32, 0x4], // PF
  [64, 0x400], // DF
];

function toEflags(iced: number): number {
  let v = 0;
  for (const [i, e] of ICED_TO_EFLAGS) if (iced & i) v |= e;
  return v;
}

const SHIFTS = new Set<number>([
  Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror,
  Mnemonic.Rcl, Mnemonic.Rcr, Mnemonic.Shld, Mnemonic.Shrd,
]);

export interface DecodedInstruction {
  address: number;
  length: number;
  text: string;
  /** May be skipped by a forward branch in the same case. */
  conditional: boolean;
}

export interface CaseAnalysis {
  instructions: DecodedInstruction[];
  /** EFLAGS bits (among COMPARED_FLAGS) that the architecture defines after the case. */
  flagMask: number;
  /** Why the case cannot be compared (reads an undefined flag), or null. */
  incomparable: string | null;
}

const insn = new Instruction();
let formatter: Formatter | null = null;

export function analyzeCase(address: number, bytes: Uint8Array): CaseAnalysis {
  formatter ??= (() => {
    const f = new Formatter(FormatterSyntax.Gas);
    f.uppercaseHex = false;
    f.spaceAfterOperandSeparator = true;
    return f;
  })();
  const dec = new Decoder(32, bytes, DecoderOptions.None);
  dec.ip = BigInt(address);
  const instructions: DecodedInstruction[] = [];
  let undefinedFlags = 0;
  let incomparable: string | null = null;
  let skipEnd = 0;
  const quirks = ORACLE_QUIRKS[oracle().kind]!;
  /** An oracle quirk's garbage may still show in the flags (see ORACLE_QUIRKS). */
  let quirkGarbage = false;
  try {
    while (dec.canDecode) {
      dec.decodeOut(insn);
      const ip = insn.ip32;
      const conditional = ip < skipEnd;
      const text = formatter.format(insn);
      instructions.push({ address: ip, length: insn.length, text, conditional });
      const read = toEflags(insn.rflagsRead);
      if (read & undefinedFlags && incomparable === null) {
        incomparable = `${text} reads undefined ${flagNames(read & undefinedFlags)}`;
      }
      const quirk = quirks.get(insn.mnemonic) ?? 0;
      let undef = toEflags(insn.rflagsUndefined) | quirk | multiBitOverflow(insn);
      const modified = toEflags(insn.rflagsModified);
      // A count in CL may be 0 (no flag changes); an 8/16-bit rcl/rcr count may reduce to 0 mod 9/17;
      // a rep-prefixed cmps/scas with ECX = 0 runs no iteration and leaves the flags alone.
      const repeated = insn.isStringInstruction && (insn.hasRepPrefix || insn.hasRepePrefix || insn.hasRepnePrefix);
      const mayKeep = conditional || repeated || (SHIFTS.has(insn.mnemonic) && isVariableCount(insn));
      if (quirk !== 0) quirkGarbage = true;
      else if (quirkGarbage && modified & ~undef & ARITHMETIC_FLAGS) quirkGarbage = mayKeep;
      // QEMU ORs its flag computation into EFLAGS, DF included: cld/std cannot clear the garbage, only
      // an instruction that computes the arithmetic flags afresh.
      else if (quirkGarbage) undef |= modified & DF;
      const defined = modified & ~undef;
      if (mayKeep) undefinedFlags |= undef;
      else undefinedFlags = (undefinedFlags & ~defined) | undef;
      if (insn.flowControl === FlowControl.ConditionalBranch && insn.nearBranch32 > insn.nextIP32) {
        skipEnd = Math.max(skipEnd, insn.nearBranch32);
      }
    }
  } finally {
    dec.free();
  }
  return { instructions, flagMask: COMPARED_FLAGS & ~undefinedFlags, incomparable };
}

/** Shift/rotate whose count might leave the flags untouched: count in CL, or an rcl/rcr count that reduces to 0. */
function isVariableCount(i: Instruction): boolean {
  const name = Code[i.code] ?? "";
  if (name.endsWith("_CL")) return true;
  if (i.mnemonic === Mnemonic.Rcl || i.mnemonic === Mnemonic.Rcr) {
    const count = (name.endsWith("_1") ? 1 : i.immediate8) & 31;
    if (name.includes("rm8") && count % 9 === 0) return true;
    if (name.includes("rm16") && count % 17 === 0) return true;
  }
  return false;
}

/** The SDM defines OF only for 1-bit shifts and rotates; iced calls it modified for any immediate count. */
function multiBitOverflow(i: Instruction): number {
  if (!SHIFTS.has(i.mnemonic)) return 0;
  const name = Code[i.code] ?? "";
  if (name.endsWith("_1") || name.endsWith("_CL")) return 0;
  return (i.immediate8 & 31) === 1 ? 0 : 0x800;
}

export function flagNames(bits: number): string {
  const names: string[] = [];
  for (const [b, n] of [[0x1, "CF"], [0x4, "PF"], [0x10, "AF"], [0x40, "ZF"], [0x80, "SF"], [0x400, "DF"], [0x800, "OF"]] as const) {
    if (bits & b) names.push(n);
  }
  return names.join(" ");
}
