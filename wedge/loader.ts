// The wedge's loader: reads the guest ELF, its .afterburn records and memory-annotation sections (from the file:
// the sections are not loaded), and validates every record before anything is rewritten. A bad record is a
// WedgeLoadError naming the site: address, symbol+offset, and the source line when the ELF has DWARF.

import { entryForForm, type CatalogueEntry } from "../core/isa/index.js";
import {
  annotationSections,
  readAnnotationRecords,
  readElf,
  readLineTable,
  PF_R,
  PF_W,
  PF_X,
  type ElfFile,
  type LineTable,
  type LoadSegment,
} from "../core/toolchain/index.js";
import { decode32, type DecodedInsn } from "./decode.js";
import { STUB_SIZE, WEDGE_VIRT } from "./layout.js";
import type { SiteLocation } from "./types.js";

export class WedgeLoadError extends Error {
  readonly site?: SiteLocation;
  /** The guest does not fit in its RAM: each front end names its own way to give it more. */
  readonly tooLittleMemory: boolean;
  constructor(message: string, site?: SiteLocation, options: { tooLittleMemory?: boolean } = {}) {
    super(message);
    this.name = "WedgeLoadError";
    this.site = site;
    this.tooLittleMemory = options.tooLittleMemory ?? false;
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
/** Unwrapped: an end past 4 GiB must read as one (0x1000ff000), not wrap around to a small address. */
const hexEnd = (n: number) => "0x" + n.toString(16).padStart(8, "0");
const FOUR_GIB = 2 ** 32;

/** The `jmp rel32` a call-out stub ends with, back to the site's post entry (wedge/rewriter.ts). */
const STUB_JMP_BACK = 5;
/** Bytes of original instructions a call-out stub can hold before its jmp back. */
const STUB_ROOM = STUB_SIZE - STUB_JMP_BACK;

/**
 * Near branches (call/jmp/jcc/loop/jecxz/xbegin with a rel8/16/32 displacement): iced-x86 names their codes
 * "..._rel8_32", "Call_rel16"... IA-32 has no other IP-relative operand (no RIP-relative addressing).
 */
const isIpRelative = (insn: DecodedInsn) => /_rel(8|16|32)(_|$)/.test(insn.code);

/** An access to memory a memory annotation can stand for: an explicit memory operand (not lea's), or a string op. */
const accessesMemory = (insn: DecodedInsn) =>
  (insn.mnemonic !== "lea" && insn.operands.some((o) => o.kind === "mem")) || /^(movs|stos|lods|cmps|scas)[bwdq]?$/.test(insn.mnemonic);

function flagText(flags: number): string {
  return `${flags & PF_R ? "R" : "-"}${flags & PF_W ? "W" : "-"}${flags & PF_X ? "X" : "-"}`;
}

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
  for (const s of segments) {
    // ELF32 fields are 32-bit, but their sums are not: a huge p_memsz would wrap past 4 GiB in 32-bit arithmetic.
    const what = (base: number, kind: string) =>
      `${fileName}: segment ${kind} ${hex(base)}–${hexEnd(base + s.memsz)} (p_memsz ${hex(s.memsz)})`;
    if (s.paddr + s.memsz > FOUR_GIB) throw new WedgeLoadError(`${what(s.paddr, "at physical")} ends past 4 GiB`);
    if (s.vaddr + s.memsz > FOUR_GIB) throw new WedgeLoadError(`${what(s.vaddr, "linked at")} ends past 4 GiB`);
    // No amount of --memory helps here: RAM never reaches the wedge's window (nor the firmware above it).
    if (s.memsz > 0 && s.paddr + s.memsz > WEDGE_VIRT) {
      throw new WedgeLoadError(`${what(s.paddr, "at physical")} reaches above ${hex(WEDGE_VIRT)}, where the PC never has RAM (the wedge's window and the firmware)`);
    }
  }
  checkEntry(elf.entry >>> 0, segments, fileName);
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
  /** The memory annotation a record right after it, in the same section, continues (see the memory check below). */
  let memorySequence: { end: number; section: string } | undefined;
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
    const op: DecodedInsn[] = [insn!];
    let opLength = insn!.length;
    while (memoryKind && opLength < original.length) {
      const next = decode32(original.subarray(opLength), r.start + opLength);
      if (!next || next.isNop || opLength + next.length > original.length) break;
      op.push(next);
      opLength += next.length;
    }
    const opText = op.map((i) => i.text).join("; ");
    // A call-out site's stub runs a copy of the operation inside the wedge's window, then jumps back. The checks
    // below hold for every site, though only a memory annotation can fail them: every catalogued instruction is
    // at most 15 bytes and none is a near branch.
    const relative = op.find(isIpRelative);
    if (relative) {
      fail(r.start, `\`${relative.text}\` in ${r.section} is IP-relative: the wedge runs a copy of the site's instructions in its call-out stub, where a relative branch would land somewhere else`);
    }
    // The afterburner gives each instruction of `.afterburn_memop KIND, N` a record of its own: a record without a
    // memory access is the rest of a sequence (lock btr; sbb) when it directly follows one in the same section.
    if (memoryKind) {
      const continues = memorySequence?.end === r.start && memorySequence.section === r.section;
      if (!continues && !op.some(accessesMemory)) {
        fail(r.start, `memory annotation in ${r.section} on \`${opText}\`, which does not access memory (no memory operand)`);
      }
      memorySequence = { end: r.end, section: r.section };
    }
    if (opLength > STUB_ROOM) {
      fail(r.start, `\`${opText}\` in ${r.section} is ${opLength} bytes; a call-out stub holds at most ${STUB_ROOM} (${STUB_SIZE} bytes less the ${STUB_JMP_BACK}-byte jmp back)`);
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

/**
 * The PC enters the kernel at e_entry in flat protected mode with paging off (multiboot): e_entry is a physical
 * address and must lie in the file bytes of an executable segment, or the CPU runs whatever the RAM holds there.
 */
function checkEntry(entry: number, segments: readonly LoadSegment[], fileName: string): void {
  const inBytes = (s: LoadSegment, base: number) => entry >= base && entry < base + s.bytes.length;
  if (segments.some((s) => (s.flags & PF_X) !== 0 && inBytes(s, s.paddr))) return;
  const prefix = `${fileName}: entry point (e_entry) ${hex(entry)}`;
  const linked = segments.find((s) => (s.flags & PF_X) !== 0 && inBytes(s, s.vaddr));
  if (linked) {
    throw new WedgeLoadError(
      `${prefix} is the link address of code loaded at physical ${hex(linked.paddr + entry - linked.vaddr)}; the PC enters the kernel with paging off, so e_entry must be the physical address`,
    );
  }
  const holder = segments.find((s) => entry >= s.paddr && entry < s.paddr + s.memsz);
  const why = !holder
    ? "is not inside any loaded segment"
    : !(holder.flags & PF_X)
      ? `lies in a segment that is not executable (${hex(holder.paddr)}, ${flagText(holder.flags)})`
      : `lies in the zero-filled part of its segment, past the ${holder.bytes.length} bytes from the file`;
  const code = segments.filter((s) => s.flags & PF_X).map((s) => `${hex(s.paddr)}–${hexEnd(s.paddr + s.bytes.length)}`);
  throw new WedgeLoadError(`${prefix} ${why} (code: ${code.join(", ") || "no executable segment"})`);
}
