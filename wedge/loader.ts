// The wedge's loader: reads the guest ELF, its .afterburn records and memory-annotation sections (from the file:
// the sections are not loaded), and validates every record before anything is rewritten. A bad record is a
// WedgeLoadError naming the site: address, symbol+offset, and the source line when the ELF has DWARF.

import { entryForForm, type CatalogueEntry } from "../core/isa/index.js";
import {
  annotationSections,
  readAnnotationRecords,
  readElf,
  readLineTable,
  PF_X,
  type ElfFile,
  type LineTable,
  type LoadSegment,
} from "../core/toolchain/index.js";
import { decode32, type DecodedInsn } from "./decode.js";
import type { SiteLocation } from "./types.js";

export class WedgeLoadError extends Error {
  readonly site?: SiteLocation;
  constructor(message: string, site?: SiteLocation) {
    super(message);
    this.name = "WedgeLoadError";
    this.site = site;
  }
}

export interface LoadedSite {
  index: number;
  start: number;
  end: number;
  /** Physical address of `start` (the segment's paddr + offset). */
  paddr: number;
  /** The annotation section the record came from. */
  section: string;
  /** The catalogue entry (sensitive-instruction sites). */
  entry?: CatalogueEntry;
  /** The memory annotation kind ("pte_set", ...) for .afterburn.<kind> records. */
  memoryKind?: string;
  catalogueId: string;
  insn: DecodedInsn;
  /** Bytes of the operation before the padding: the instruction, or a memory annotation's instructions (lock btr + sbb). */
  opLength: number;
  /** The whole site as built (instruction + padding). */
  original: Uint8Array;
  location: SiteLocation;
}

export interface LoadedImage {
  elf: ElfFile;
  fileName: string;
  segments: LoadSegment[];
  entry: number;
  sites: LoadedSite[];
  /** Symbol+offset and DWARF line for any guest address (cached). */
  locate(address: number): SiteLocation;
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

export function describeLocation(l: SiteLocation): string {
  const parts = [hex(l.address)];
  const extra: string[] = [];
  if (l.symbol) extra.push(l.symbol);
  if (l.file) extra.push(`${l.file}${l.line !== undefined ? `:${l.line}` : ""}`);
  if (extra.length) parts.push(`(${extra.join(", ")})`);
  return parts.join(" ");
}

function makeLocator(elf: ElfFile): (address: number) => SiteLocation {
  let lines: LineTable | null | undefined;
  const cache = new Map<number, SiteLocation>();
  return (address) => {
    address >>>= 0;
    const hit = cache.get(address);
    if (hit) return hit;
    const loc: SiteLocation = { address };
    const sym = elf.symbolize(address);
    if (sym) loc.symbol = sym.offset ? `${sym.name}+0x${sym.offset.toString(16)}` : sym.name;
    if (lines === undefined) {
      try {
        lines = elf.section(".debug_line") ? readLineTable(elf) : null;
      } catch {
        lines = null; // DWARF we cannot read only costs us the line numbers
      }
    }
    const src = lines?.addressToLine(address);
    if (src) {
      loc.file = src.file;
      loc.line = src.line;
    }
    cache.set(address, loc);
    return loc;
  };
}

/** Parse and validate. Throws WedgeLoadError (bad records, not an IA-32 executable) naming the file and site. */
export function loadImage(bytes: Uint8Array, fileName: string): LoadedImage {
  let elf: ElfFile;
  try {
    elf = readElf(bytes, fileName);
  } catch (e) {
    throw new WedgeLoadError((e as Error).message);
  }
  if (elf.class !== 32 || elf.machine !== "EM_386") {
    throw new WedgeLoadError(`${fileName}: a ${elf.class}-bit ${elf.machine} ELF; the wedge loads IA-32 (ELF32, EM_386) kernels`);
  }
  if (elf.type !== "EXEC") throw new WedgeLoadError(`${fileName}: an ELF of type ${elf.type}; link it into an executable first`);
  const segments = elf.loadSegments();
  if (segments.length === 0) throw new WedgeLoadError(`${fileName}: no loadable segments`);
  const locate = makeLocator(elf);
  const fail = (address: number, what: string): never => {
    const site = locate(address);
    throw new WedgeLoadError(`${fileName}: site at ${describeLocation(site)}: ${what}`, site);
  };

  const raw: { start: number; end: number; section: string }[] = [];
  for (const sec of annotationSections(elf)) {
    let records;
    try {
      records = readAnnotationRecords(elf, sec.name);
    } catch (e) {
      throw new WedgeLoadError((e as Error).message);
    }
    for (const r of records) raw.push({ start: r.start >>> 0, end: r.end >>> 0, section: sec.name });
  }
  raw.sort((a, b) => a.start - b.start || a.end - b.end);

  const sites: LoadedSite[] = [];
  let prev: { start: number; end: number } | undefined;
  for (const r of raw) {
    if (r.end <= r.start) fail(r.start, `empty record in ${r.section} (end ${hex(r.end)} ≤ start)`);
    const seg = segments.find((s) => r.start >= s.vaddr && r.end <= s.vaddr + s.bytes.length);
    if (!seg) fail(r.start, `record ${hex(r.start)}–${hex(r.end)} in ${r.section} is not inside a loaded segment's file bytes`);
    if (!(seg!.flags & PF_X)) fail(r.start, `record in ${r.section} points into a segment that is not executable`);
    if (prev && r.start < prev.end) {
      fail(r.start, `record ${hex(r.start)}–${hex(r.end)} in ${r.section} overlaps the site ${hex(prev.start)}–${hex(prev.end)}`);
    }
    prev = r;
    const off = r.start - seg!.vaddr;
    const original = seg!.bytes.slice(off, off + (r.end - r.start));
    const insn = decode32(original, r.start);
    if (!insn) fail(r.start, `the bytes ${[...original.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ")} do not decode as an instruction`);
    let entry: CatalogueEntry | undefined;
    let memoryKind: string | undefined;
    if (r.section === ".afterburn" || r.section === ".afterburn32") {
      entry = entryForForm(insn!.form, 32);
      if (!entry) fail(r.start, `\`${insn!.text}\` is not a sensitive instruction in the catalogue (core/isa)`);
    } else {
      // Any instruction: a sequence (lock btr; sbb) may come as one record or as one record per instruction.
      memoryKind = r.section.slice(r.section.lastIndexOf(".") + 1);
    }
    if (insn!.length > original.length) fail(r.start, `\`${insn!.text}\` (${insn!.length} bytes) is longer than its record (${original.length} bytes)`);
    // A memory annotation may cover a short sequence (`.afterburn_memop pte_test_clear, 2`): its operation is
    // every instruction before the first NOP.
    let opLength = insn!.length;
    while (memoryKind && opLength < original.length) {
      const next = decode32(original.subarray(opLength), r.start + opLength);
      if (!next || next.isNop || opLength + next.length > original.length) break;
      opLength += next.length;
    }
    // Padding: NOPs only (0x90 and the multi-byte 0F 1F / 66 90 forms the assembler may emit).
    for (let p = opLength; p < original.length; ) {
      const pad = decode32(original.subarray(p), r.start + p);
      if (!pad || !pad.isNop || p + pad.length > original.length) {
        fail(r.start, `padding byte at ${hex(r.start + p)} (0x${original[p]!.toString(16).padStart(2, "0")}) is not a NOP`);
      }
      p += pad!.length;
    }
    sites.push({
      index: sites.length,
      start: r.start,
      end: r.end,
      paddr: seg!.paddr + off,
      section: r.section,
      entry,
      memoryKind,
      catalogueId: entry ? entry.id : `memory:${memoryKind}`,
      insn: insn!,
      opLength,
      original,
      location: locate(r.start),
    });
  }
  return { elf, fileName, segments, entry: elf.entry, sites, locate };
}
