// ELF32/ELF64 little-endian reader: headers, sections, segments and the symbol table.
// Everything is validated up front (offsets and sizes inside the file), so later accessors
// cannot index past the end.
import { ByteReader, stringAt, type ErrorFactory } from "./byteReader.js";
import { ElfError } from "./errors.js";

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

export const EM_386 = 3;
export const EM_X86_64 = 62;

export type ElfType = "NONE" | "REL" | "EXEC" | "DYN" | "CORE" | `ET_${number}`;
export type ElfMachine = "EM_386" | "EM_X86_64" | `EM_${number}`;
export type SymbolType = "NOTYPE" | "OBJECT" | "FUNC" | "SECTION" | "FILE" | "COMMON" | "TLS" | `STT_${number}`;
export type SymbolBind = "LOCAL" | "GLOBAL" | "WEAK" | `STB_${number}`;

export interface ElfSection {
  index: number;
  name: string;
  /** SHT_* number. */
  type: number;
  /** SHF_* bits. */
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** The section's bytes in the file (empty for SHT_NOBITS); a view, not a copy. */
  data(): Uint8Array;
}

export interface ElfSegment {
  /** PT_* number. */
  type: number;
  /** PF_* bits. */
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
  /** The segment's file bytes (filesz long); a view, not a copy. */
  data(): Uint8Array;
}

export interface ElfSymbol {
  index: number;
  name: string;
  value: number;
  size: number;
  type: SymbolType;
  bind: SymbolBind;
  /** st_other & 3: DEFAULT 0, INTERNAL 1, HIDDEN 2, PROTECTED 3. */
  visibility: number;
  /** Section header index (SHN_UNDEF, SHN_ABS, SHN_COMMON or a real section). */
  sectionIndex: number;
}

export interface LoadSegment {
  paddr: number;
  vaddr: number;
  /** filesz bytes from the file; the rest up to memsz is zero (bss). */
  bytes: Uint8Array;
  memsz: number;
  flags: number;
}

export interface SymbolicAddress {
  name: string;
  offset: number;
}

export interface ElfFile {
  fileName: string;
  bytes: Uint8Array;
  class: 32 | 64;
  type: ElfType;
  machine: ElfMachine;
  machineCode: number;
  entry: number;
  flags: number;
  sections: ElfSection[];
  segments: ElfSegment[];
  /** From .symtab (empty when stripped). Index 0 is the null symbol. */
  symbols: ElfSymbol[];
  section(name: string): ElfSection | undefined;
  /** Symbols of any symbol-table section (.symtab, .dynsym), parsed on demand. */
  symbolTable(sectionIndex: number): ElfSymbol[];
  /** Nearest preceding named function, object or label symbol in the section holding addr. */
  symbolize(addr: number): SymbolicAddress | undefined;
  /** PT_LOAD segments for the emulator. */
  loadSegments(): LoadSegment[];
  /** Builds an ElfError naming this file. */
  error(detail: string): ElfError;
}

const TYPE_NAMES: Record<number, ElfType> = { 0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE" };
const SYMBOL_TYPES: Record<number, SymbolType> = { 0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS" };
const SYMBOL_BINDS: Record<number, SymbolBind> = { 0: "LOCAL", 1: "GLOBAL", 2: "WEAK" };

function machineName(code: number): ElfMachine {
  if (code === EM_386) return "EM_386";
  if (code === EM_X86_64) return "EM_X86_64";
  return `EM_${code}`;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

export function readElf(bytes: Uint8Array, fileName: string): ElfFile {
  const fail: ErrorFactory = (detail) => new ElfError(fileName, detail);
  const size = bytes.length;
  if (size < 16) throw fail(`not an ELF file: only ${size} byte(s), too short for the ELF identification`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw fail("not an ELF file: bad magic number (expected 7f 45 4c 46)");
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw fail(`unsupported ELF class ${cls} (expected 1 = ELF32 or 2 = ELF64)`);
  const elfClass: 32 | 64 = cls === 1 ? 32 : 64;
  if (bytes[5] === 2) throw fail("big-endian ELF is not supported (x86 files are little endian)");
  if (bytes[5] !== 1) throw fail(`unsupported ELF data encoding ${bytes[5]}`);
  const wordSize: 4 | 8 = elfClass === 32 ? 4 : 8;
  const headerSize = elfClass === 32 ? 52 : 64;
  if (size < headerSize) throw fail(`truncated ELF header: ${size} byte(s), the ELF${elfClass} header needs ${headerSize}`);

  const r = new ByteReader(bytes, fail, "ELF header", 16);
  const typeCode = r.u16("e_type");
  const machineCode = r.u16("e_machine");
  r.u32("e_version");
  const entry = r.word(wordSize, "e_entry");
  const phoff = r.word(wordSize, "e_phoff");
  const shoff = r.word(wordSize, "e_shoff");
  const flags = r.u32("e_flags");
  r.u16("e_ehsize");
  const phentsize = r.u16("e_phentsize");
  let phnum = r.u16("e_phnum");
  const shentsize = r.u16("e_shentsize");
  let shnum = r.u16("e_shnum");
  let shstrndx = r.u16("e_shstrndx");

  const wantSh = elfClass === 32 ? 40 : 64;
  const wantPh = elfClass === 32 ? 32 : 56;
  const tableFits = (off: number, count: number, entsize: number) => off + count * entsize <= size;

  // Section header table (with the extended-numbering escape kept in section 0).
  const rawSections: Omit<ElfSection, "data" | "name">[] = [];
  const nameOffsets: number[] = [];
  if (shoff !== 0) {
    if (shentsize !== wantSh) throw fail(`bad e_shentsize ${shentsize} (ELF${elfClass} section headers are ${wantSh} bytes)`);
    if (shoff + wantSh > size) throw fail(`section header table at ${hex(shoff)} is past the end of the file (size ${hex(size)})`);
    const readSection = (i: number) => {
      const s = new ByteReader(bytes, fail, `section header ${i}`, shoff + i * wantSh);
      const name = s.u32("sh_name");
      const type = s.u32("sh_type");
      const flags = s.word(wordSize, "sh_flags");
      const addr = s.word(wordSize, "sh_addr");
      const offset = s.word(wordSize, "sh_offset");
      const sz = s.word(wordSize, "sh_size");
      const link = s.u32("sh_link");
      const info = s.u32("sh_info");
      const addralign = s.word(wordSize, "sh_addralign");
      const entsize = s.word(wordSize, "sh_entsize");
      return { nameOffset: name, sec: { index: i, type, flags, addr, offset, size: sz, link, info, addralign, entsize } };
    };
    const first = readSection(0);
    if (shnum === 0) shnum = first.sec.size;
    if (shstrndx === SHN_XINDEX) shstrndx = first.sec.link;
    if (!tableFits(shoff, shnum, wantSh)) {
      throw fail(`section header table (${shnum} entries at ${hex(shoff)}) runs past the end of the file (size ${hex(size)})`);
    }
    for (let i = 0; i < shnum; i++) {
      const { nameOffset, sec } = i === 0 ? first : readSection(i);
      if (sec.type !== SHT_NOBITS && sec.type !== SHT_NULL && sec.offset + sec.size > size) {
        throw fail(`section ${i} (offset ${hex(sec.offset)}, size ${hex(sec.size)}) runs past the end of the file (size ${hex(size)})`);
      }
      rawSections.push(sec);
      nameOffsets.push(nameOffset);
    }
  }

  const sectionData = (s: { type: number; offset: number; size: number }) =>
    s.type === SHT_NOBITS || s.type === SHT_NULL ? new Uint8Array(0) : bytes.subarray(s.offset, s.offset + s.size);

  let shstrtab: Uint8Array | undefined;
  if (rawSections.length > 0 && shstrndx !== 0) {
    if (shstrndx >= rawSections.length) throw fail(`e_shstrndx ${shstrndx} is not a section (there are ${rawSections.length})`);
    shstrtab = sectionData(rawSections[shstrndx]!);
  }
  const sections: ElfSection[] = rawSections.map((s, i) => {
    const name = shstrtab ? stringAt(shstrtab, nameOffsets[i]!, (d) => fail(`section ${i} name: ${d}`), "the section name table") : "";
    return { ...s, name, data: () => sectionData(s) };
  });
  for (const s of sections) {
    if ((s.type === SHT_REL || s.type === SHT_RELA || s.type === SHT_SYMTAB || s.type === SHT_DYNSYM) && s.link >= sections.length) {
      throw fail(`section ${s.name || s.index} links to section ${s.link}, which does not exist`);
    }
  }

  // Program headers.
  const segments: ElfSegment[] = [];
  if (phoff !== 0 && phnum > 0) {
    if (phentsize !== wantPh) throw fail(`bad e_phentsize ${phentsize} (ELF${elfClass} program headers are ${wantPh} bytes)`);
    if (phnum === 0xffff && rawSections.length > 0) phnum = rawSections[0]!.info;
    if (!tableFits(phoff, phnum, wantPh)) {
      throw fail(`program header table (${phnum} entries at ${hex(phoff)}) runs past the end of the file (size ${hex(size)})`);
    }
    for (let i = 0; i < phnum; i++) {
      const { p_type: type, p_flags: pflags, p_offset: offset, p_vaddr: vaddr, p_paddr: paddr, p_filesz: filesz, p_memsz: memsz, p_align: align } =
        readFields(new ByteReader(bytes, fail, `program header ${i}`, phoff + i * wantPh), PROGRAM_HEADER[elfClass]);
      if (filesz > 0 && offset + filesz > size) {
        throw fail(`segment ${i} (offset ${hex(offset)}, filesz ${hex(filesz)}) runs past the end of the file (size ${hex(size)})`);
      }
      if (type === PT_LOAD && filesz > memsz) throw fail(`segment ${i}: filesz ${hex(filesz)} is larger than memsz ${hex(memsz)}`);
      segments.push({ type, flags: pflags, offset, vaddr, paddr, filesz, memsz, align, data: () => bytes.subarray(offset, offset + filesz) });
    }
  }

  const symbolTables = new Map<number, ElfSymbol[]>();
  const symbolTable = (index: number): ElfSymbol[] => {
    const cached = symbolTables.get(index);
    if (cached) return cached;
    const sec = sections[index];
    if (!sec || (sec.type !== SHT_SYMTAB && sec.type !== SHT_DYNSYM)) throw fail(`section ${index} is not a symbol table`);
    const syms = parseSymbols(sec, sections, elfClass, fail);
    symbolTables.set(index, syms);
    return syms;
  };
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const symbols = symtab ? symbolTable(symtab.index) : [];

  let index: SymbolIndex | undefined;
  const file: ElfFile = {
    fileName,
    bytes,
    class: elfClass,
    type: TYPE_NAMES[typeCode] ?? `ET_${typeCode}`,
    machine: machineName(machineCode),
    machineCode,
    entry,
    flags,
    sections,
    segments,
    symbols,
    section: (name) => sections.find((s) => s.name === name),
    symbolTable,
    symbolize(addr) {
      index ??= buildSymbolIndex(sections, symbols);
      return index.lookup(addr);
    },
    loadSegments: () =>
      segments
        .filter((s) => s.type === PT_LOAD)
        .map((s) => ({ paddr: s.paddr, vaddr: s.vaddr, bytes: s.data().slice(), memsz: s.memsz, flags: s.flags })),
    error: fail,
  };
  return file;
}

/** A structure whose field order differs between ELF32 and ELF64: field names and sizes in file order. */
type Layout<K extends string> = readonly (readonly [K, 1 | 2 | 4 | 8])[];

function readFields<K extends string>(r: ByteReader, layout: Layout<K>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const [name, size] of layout) out[name] = r.unsigned(size, name);
  return out;
}

type ProgramHeaderField = "p_type" | "p_flags" | "p_offset" | "p_vaddr" | "p_paddr" | "p_filesz" | "p_memsz" | "p_align";
const PROGRAM_HEADER: Record<32 | 64, Layout<ProgramHeaderField>> = {
  32: [["p_type", 4], ["p_offset", 4], ["p_vaddr", 4], ["p_paddr", 4], ["p_filesz", 4], ["p_memsz", 4], ["p_flags", 4], ["p_align", 4]],
  // ELF64 moves p_flags up to keep the 8-byte fields aligned.
  64: [["p_type", 4], ["p_flags", 4], ["p_offset", 8], ["p_vaddr", 8], ["p_paddr", 8], ["p_filesz", 8], ["p_memsz", 8], ["p_align", 8]],
};

type SymbolField = "st_name" | "st_value" | "st_size" | "st_info" | "st_other" | "st_shndx";
const SYMBOL: Record<32 | 64, Layout<SymbolField>> = {
  32: [["st_name", 4], ["st_value", 4], ["st_size", 4], ["st_info", 1], ["st_other", 1], ["st_shndx", 2]],
  64: [["st_name", 4], ["st_info", 1], ["st_other", 1], ["st_shndx", 2], ["st_value", 8], ["st_size", 8]],
};

function parseSymbols(sec: ElfSection, sections: ElfSection[], elfClass: 32 | 64, fail: ErrorFactory): ElfSymbol[] {
  const entsize = elfClass === 32 ? 16 : 24;
  if (sec.size % entsize !== 0) throw fail(`symbol table ${sec.name}: size ${hex(sec.size)} is not a multiple of the ${entsize}-byte entry size`);
  const strtab = sections[sec.link];
  if (!strtab || strtab.type !== SHT_STRTAB) throw fail(`symbol table ${sec.name}: linked section ${sec.link} is not a string table`);
  const strings = strtab.data();
  const r = new ByteReader(sec.data(), fail, `symbol table ${sec.name}`);
  const out: ElfSymbol[] = [];
  for (let i = 0; i < sec.size / entsize; i++) {
    const { st_name: nameOff, st_value: value, st_size: size, st_info: info, st_other: other, st_shndx: shndx } = readFields(r, SYMBOL[elfClass]);
    const name = nameOff === 0 ? "" : stringAt(strings, nameOff, (d) => fail(`symbol ${i} in ${sec.name}: ${d}`), strtab.name || "the string table");
    const t = info & 0xf;
    const b = info >> 4;
    out.push({
      index: i,
      name,
      value,
      size,
      type: SYMBOL_TYPES[t] ?? `STT_${t}`,
      bind: SYMBOL_BINDS[b] ?? `STB_${b}`,
      visibility: other & 3,
      sectionIndex: shndx,
    });
  }
  return out;
}

interface SymbolIndex {
  lookup(addr: number): SymbolicAddress | undefined;
}

// Rank of a symbol when several share an address: a typed global beats a bare local label.
function rank(s: ElfSymbol): number {
  const typed = s.type === "FUNC" || s.type === "OBJECT" ? 2 : 0;
  const global = s.bind === "GLOBAL" || s.bind === "WEAK" ? 1 : 0;
  return typed + global;
}

function buildSymbolIndex(sections: ElfSection[], symbols: ElfSymbol[]): SymbolIndex {
  const candidates = symbols
    .filter(
      (s) =>
        s.name !== "" &&
        !s.name.startsWith(".L") &&
        (s.type === "FUNC" || s.type === "OBJECT" || s.type === "NOTYPE") &&
        s.sectionIndex !== SHN_UNDEF &&
        s.sectionIndex < SHN_LORESERVE &&
        s.sectionIndex < sections.length &&
        (sections[s.sectionIndex]!.flags & SHF_ALLOC) !== 0,
    )
    .sort((a, b) => a.value - b.value || rank(b) - rank(a) || a.index - b.index);
  // One entry per address: the best-ranked one (sorted first).
  const unique: ElfSymbol[] = [];
  for (const s of candidates) if (unique.length === 0 || unique[unique.length - 1]!.value !== s.value) unique.push(s);
  return {
    lookup(addr) {
      let lo = 0;
      let hi = unique.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (unique[mid]!.value <= addr) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (found < 0) return undefined;
      const sym = unique[found]!;
      // The address must lie in the symbol's section, so gaps and other sections are not misnamed.
      const sec = sections[sym.sectionIndex]!;
      const secEnd = sec.addr + Math.max(sec.size, 1);
      if (addr < sec.addr || addr >= secEnd) return undefined;
      return { name: sym.name, offset: addr - sym.value };
    },
  };
}

/**
 * The size of the sections of each name, read from the section headers alone (no address is read). For checks on
 * linked images whose addresses a number cannot hold exactly, which readElf refuses (an x86-64 kernel
 * linked at 0xffffffff81000000). Undefined when the file is no little-endian ELF file or its headers
 * do not hold together.
 */
export function sectionSizes(bytes: Uint8Array): Map<string, number> | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  if (n < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46 || bytes[5] !== 1) return undefined;
  const is64 = bytes[4] === 2;
  if (!is64 && bytes[4] !== 1) return undefined;
  const word = (at: number): number | undefined => {
    if (at < 0 || at + (is64 ? 8 : 4) > n) return undefined;
    if (!is64) return view.getUint32(at, true);
    const v = view.getBigUint64(at, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  };
  const half = (at: number): number | undefined => (at + 2 <= n ? view.getUint16(at, true) : undefined);
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = half(is64 ? 0x3a : 0x2e);
  let shnum = half(is64 ? 0x3c : 0x30);
  let shstrndx = half(is64 ? 0x3e : 0x32);
  if (shoff === undefined || shentsize === undefined || shnum === undefined || shstrndx === undefined || shoff === 0) return undefined;
  if (shentsize < (is64 ? 64 : 40)) return undefined;
  // The header of section i: its name offset, file offset and size (ELF64: 0, 0x18, 0x20; ELF32: 0, 0x10, 0x14).
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    if (at + shentsize > n) return undefined;
    const offset = word(at + (is64 ? 0x18 : 0x10));
    const size = word(at + (is64 ? 0x20 : 0x14));
    const link = view.getUint32(at + (is64 ? 0x28 : 0x18), true);
    return offset === undefined || size === undefined ? undefined : { name: view.getUint32(at, true), offset, size, link };
  };
  // Extended numbering: past 0xff00 sections the count and the name table's index are in section 0.
  const zero = header(0);
  if (zero === undefined) return undefined;
  if (shnum === 0) shnum = zero.size;
  if (shstrndx === 0xffff) shstrndx = zero.link;
  const names = header(shstrndx);
  if (names === undefined || names.offset + names.size > n) return undefined;
  const table = bytes.subarray(names.offset, names.offset + names.size);
  const decoder = new TextDecoder("latin1");
  const out = new Map<string, number>();
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    if (h === undefined) return undefined;
    const end = table.indexOf(0, h.name);
    if (h.name >= table.length || end < 0) continue;
    const name = decoder.decode(table.subarray(h.name, end));
    // A name may stand for several sections (COMDAT groups in an object): their sizes add up.
    out.set(name, (out.get(name) ?? 0) + h.size);
  }
  return out;
}
