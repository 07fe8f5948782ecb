// Sensitive instructions written as data: `.byte 0x0f,0x01,0xd0` in a code section (kernels spell
// instructions older assemblers lack this way). The afterburner annotates instructions, not data:
// such bytes may as well be a table in .text, and padding after them would move what follows. So
// they are decoded (iced-x86) and reported, each with the instruction they encode.

import type * as Iced from "iced-x86";
import { CATALOGUE, classify } from "../isa/index.js";
import { LEX_INITIAL, parseLine } from "../asm/line.js";
import type { CatalogueEntry } from "../isa/types.js";
import type { CodeMode } from "../asm/types.js";

let iced: typeof Iced | undefined;
/** Loaded on first use (compiling it takes about 100 ms): only files with `.byte` in code pay for it. */
function icedX86(): typeof Iced {
  return (iced ??= require("iced-x86") as typeof Iced);
}

let byCode: Map<string, CatalogueEntry> | undefined;
function entryOfCode(code: string): CatalogueEntry | undefined {
  if (byCode === undefined) {
    byCode = new Map();
    for (const e of CATALOGUE) for (const c of e.icedCodes) byCode.set(c, e);
  }
  return byCode.get(code);
}

export interface EncodedInstruction {
  /** Offset of its first byte in the bytes decoded. */
  offset: number;
  length: number;
  entry: CatalogueEntry;
  /** AT&T text as objdump would write it ("xgetbv", "mov %eax,%cr3"). */
  text: string;
}

/**
 * The sensitive instructions the bytes encode, decoded one after another from the first byte (a byte
 * that starts no valid instruction is passed over). Only instructions wholly inside the bytes count.
 */
export function sensitiveInBytes(bytes: readonly number[], mode: CodeMode): EncodedInstruction[] {
  const { Code, Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction } = icedX86();
  const data = Uint8Array.from(bytes);
  const out: EncodedInstruction[] = [];
  const ins = new Instruction();
  let formatter: Iced.Formatter | undefined;
  try {
    let at = 0;
    while (at < data.length) {
      const d = new Decoder(mode, data.subarray(at), DecoderOptions.None);
      try {
        d.decodeOut(ins);
      } finally {
        d.free();
      }
      const length = ins.length;
      if (ins.code === Code.INVALID || length === 0 || at + length > data.length) {
        at++;
        continue;
      }
      const candidate = entryOfCode(Code[ins.code] as unknown as string);
      if (candidate !== undefined) {
        formatter ??= new Formatter(FormatterSyntax.Gas);
        const text = formatter.format(ins);
        // One machine form serves several entries (mov to %cr0 ... %cr8): the text path tells which.
        const st = parseLine(text, 0, LEX_INITIAL).parsed.statements[0];
        const entry = (st?.kind === "instruction" ? classify(st, mode) : undefined) ?? candidate;
        out.push({ offset: at, length, entry, text });
      }
      at += length;
    }
  } finally {
    formatter?.free();
    ins.free();
  }
  return out;
}

/** Sections whose bytes are code: `.text` and its variants (`.text.unlikely`, `.init.text`, `.noinstr.text`), `.init`, `.fini`, `.fixup`, `.altinstr_replacement`. */
export function isCodeSection(name: string): boolean {
  return /(?:^|\.)text(?:$|\.)/.test(name) || /^\.(?:init|fini|fixup|altinstr_replacement)$/.test(name);
}
