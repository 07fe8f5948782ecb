// Sensitive instructions written as data: `.byte 0x0f,0x01,0xd0` in a code section (kernels spell
// instructions older assemblers lack this way). The afterburner annotates instructions, not data:
// such bytes may as well be a table in .text, and padding after them would move what follows. So
// they are decoded (iced-x86) and reported, each with the instruction they encode: by the afterburner
// as a site it leaves alone, with a warning, and by the editor's analysis the same way.

import type * as Iced from "iced-x86";
import { CATALOGUE, classify } from "../isa/index.js";
import { LEX_INITIAL, parseLine } from "./line.js";
import type { CatalogueEntry } from "../isa/types.js";
import type { CodeMode, DirectiveStatement, ExpandedStatement } from "./types.js";
import { outermostExpansion, type AsmSite } from "./sites.js";
import { evaluateExpression } from "./expression.js";
import { boundedQuote } from "./message.js";

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

/** The values of a `.byte` directive's arguments (each & 0xff); undefined when one is not a constant. */
export function byteValues(args: readonly string[]): number[] | undefined {
  const out: number[] = [];
  for (const a of args) {
    const v = evaluateExpression(a);
    if (v === undefined || !Number.isInteger(v)) return undefined;
    out.push(v & 0xff);
  }
  return out;
}

/** A run of `.byte` statements in one code section and mode: its bytes, and which statement gave which. */
export interface ByteRun {
  section: string;
  mode: CodeMode;
  bytes: number[];
  /** Each statement, the offset of its first byte in `bytes`, its byte count, and (from a statement list) its index there. */
  pieces: { es: ExpandedStatement; from: number; count: number; index?: number }[];
}

/** A sensitive instruction a run of `.byte` statements encodes. */
export interface EncodedSite {
  found: EncodedInstruction;
  /** The statement its first byte is in, and its index in the statement list read (encodedInStatements). */
  es: ExpandedStatement;
  index?: number;
  /** The directives that hold its bytes, as written (`.byte 0x0f; .byte 0x01,0xd0`). */
  text: string;
}

/** The sensitive instructions a run encodes, each with the statement it starts in. */
export function encodedInRun(run: ByteRun): EncodedSite[] {
  return sensitiveInBytes(run.bytes, run.mode).map((found) => {
    let k = run.pieces.length - 1;
    while (k > 0 && run.pieces[k]!.from > found.offset) k--;
    const written = run.pieces.filter((p) => p.from < found.offset + found.length && p.from + p.count > found.offset);
    const text = written.map((p) => { const d = p.es.statement as DirectiveStatement; return `${d.name} ${d.args}`; }).join("; ");
    const piece = run.pieces[k]!;
    return piece.index === undefined ? { found, es: piece.es, text } : { found, es: piece.es, text, index: piece.index };
  });
}

/** Why a site written as data is not annotated (the afterburner's warning, and the editor's message). */
export function writtenAsData(e: EncodedSite): string {
  return `written as data: ${boundedQuote(e.text)} encodes '${e.found.text}' (${e.found.entry.id}); the afterburner annotates instructions, not bytes (which may be data in a code section); write the instruction itself to have it annotated`;
}

/** Whether a statement may belong to a `.byte` run (a `.byte` directive, or a label, which does not part one). */
export function mayRunBytes(es: ExpandedStatement): boolean {
  const st = es.statement;
  return st.kind === "label" || (st.kind === "directive" && st.name === ".byte");
}

/**
 * What the `.byte` runs in code sections of statements [from, to) encode (a run is consecutive `.byte`
 * statements of one section and mode; labels do not part it, any other statement does), each with
 * its statement's index in the list.
 */
export function encodedInStatements(statements: readonly ExpandedStatement[], from = 0, to = statements.length): EncodedSite[] {
  const out: EncodedSite[] = [];
  let run: ByteRun | undefined;
  for (let i = from; i < to; i++) {
    const es = statements[i]!;
    const st = es.statement;
    if (st.kind === "label") continue;
    const values = st.kind === "directive" && st.name === ".byte" && isCodeSection(es.section) ? byteValues(st.argList) : undefined;
    if (run !== undefined && (values === undefined || run.section !== es.section || run.mode !== es.mode)) {
      out.push(...encodedInRun(run));
      run = undefined;
    }
    if (values === undefined || values.length === 0) continue;
    run ??= { section: es.section, mode: es.mode, bytes: [], pieces: [] };
    run.pieces.push({ es, from: run.bytes.length, count: values.length, index: i });
    for (const v of values) run.bytes.push(v);
  }
  if (run !== undefined) out.push(...encodedInRun(run));
  return out;
}

/** An instruction written as data, as a site: where its first byte's directive is, not annotated, and why. */
export function encodedSite(e: EncodedSite): AsmSite {
  const st = e.es.statement;
  return {
    entry: e.found.entry,
    span: e.es.expansion ? outermostExpansion(e.es.expansion).site : { line: e.es.line, start: st.span.start, end: st.span.end },
    text: e.text,
    mnemonic: e.found.text.split(/\s/, 1)[0]!,
    mode: e.es.mode,
    section: e.es.section,
    padding: 0,
    annotated: false,
    reason: writtenAsData(e),
    encoded: true,
    ...(e.es.expansion ? { expansion: e.es.expansion } : {}),
  };
}
