// A site: one sensitive instruction the afterburner found, where it is, and what it got.

import type { SensitiveClass } from "../isa/types.js";

export interface SourcePosition {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based; 0 when unknown (e.g. from a line marker). */
  column: number;
}

export interface Site {
  /** Where in the afterburner's input (file name as given, 1-based line and column). */
  input: SourcePosition;
  /** The C or .S source the input line came from (cpp line markers, gcc #APP markers, .loc), when known. */
  source?: SourcePosition;
  /** Catalogue id ("cli", "mov-to-cr", ...). */
  id: string;
  class: SensitiveClass;
  /** The instruction as written (after macro expansion). */
  text: string;
  mnemonic: string;
  mode: 16 | 32 | 64;
  section: string;
  /** NOP bytes emitted after the instruction (0 when not annotated). */
  padding: number;
  /** Whether a record went into the annotation section. */
  annotated: boolean;
  /** Why not, when annotated is false (".afterburn_noannotate region", "16-bit code", ...). */
  reason?: string;
  /** Annotation section the record went to: ".afterburn", or ".afterburn.pte_set" etc. for memory operations. */
  annotationSection: string;
  /** Set when the instruction came from a macro, .rept or .irp expansion: the macro name or loop kind. */
  expandedFrom?: string;
  /** Begin label of the site in the output (for tools that want to find it). */
  label?: string;
}

export function formatPosition(p: SourcePosition): string {
  return p.column > 0 ? `${p.file}:${p.line}:${p.column}` : `${p.file}:${p.line}`;
}
