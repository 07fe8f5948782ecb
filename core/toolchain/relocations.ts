// Relocations (.rel.* and .rela.*) and applying them to a copy of a section's bytes, for reading
// non-allocated sections (.afterburn, .debug_line) of relocatable objects.
import { ByteReader } from "./byteReader.js";
import { EM_386, EM_X86_64, SHN_ABS, SHN_LORESERVE, SHN_UNDEF, SHT_REL, SHT_RELA, type ElfFile, type ElfSection, type ElfSymbol } from "./elf.js";

export const R_386_NONE = 0;
export const R_386_32 = 1;
export const R_386_PC32 = 2;
export const R_X86_64_NONE = 0;
export const R_X86_64_64 = 1;
export const R_X86_64_PC32 = 2;
export const R_X86_64_32 = 10;
export const R_X86_64_32S = 11;
export const R_X86_64_PC64 = 24;

export interface Relocation {
  /** Offset in the target section (ET_REL) or virtual address (linked files). */
  offset: number;
  type: number;
  typeName: string;
  symbol: ElfSymbol;
  /** The addend: from the entry (RELA) or, for REL, the value stored in place. */
  addend: number;
  /** True for RELA entries (addend in the entry). */
  explicitAddend: boolean;
}

interface RelocationKind {
  name: string;
  size: 0 | 4 | 8;
  pcRelative: boolean;
  /** In-place addend (REL) is read as signed. */
  signed: boolean;
}

const I386_KINDS: Record<number, RelocationKind> = {
  [R_386_NONE]: { name: "R_386_NONE", size: 0, pcRelative: false, signed: false },
  [R_386_32]: { name: "R_386_32", size: 4, pcRelative: false, signed: false },
  [R_386_PC32]: { name: "R_386_PC32", size: 4, pcRelative: true, signed: true },
};
const X86_64_KINDS: Record<number, RelocationKind> = {
  [R_X86_64_NONE]: { name: "R_X86_64_NONE", size: 0, pcRelative: false, signed: false },
  [R_X86_64_64]: { name: "R_X86_64_64", size: 8, pcRelative: false, signed: true },
  [R_X86_64_PC32]: { name: "R_X86_64_PC32", size: 4, pcRelative: true, signed: true },
  [R_X86_64_32]: { name: "R_X86_64_32", size: 4, pcRelative: false, signed: false },
  [R_X86_64_32S]: { name: "R_X86_64_32S", size: 4, pcRelative: false, signed: true },
  [R_X86_64_PC64]: { name: "R_X86_64_PC64", size: 8, pcRelative: true, signed: true },
};

function kindOf(elf: ElfFile, type: number): RelocationKind | undefined {
  if (elf.machineCode === EM_386) return I386_KINDS[type];
  if (elf.machineCode === EM_X86_64) return X86_64_KINDS[type];
  return undefined;
}

function typeName(elf: ElfFile, type: number): string {
  return kindOf(elf, type)?.name ?? `${elf.machine === "EM_386" ? "R_386" : elf.machine === "EM_X86_64" ? "R_X86_64" : "R"}_${type}`;
}

/** Reads one SHT_REL or SHT_RELA section. REL addends are read from the target section's bytes. */
export function readRelocations(elf: ElfFile, relSection: ElfSection): Relocation[] {
  const rela = relSection.type === SHT_RELA;
  if (!rela && relSection.type !== SHT_REL) throw elf.error(`section ${relSection.name} is not a relocation section`);
  const w = elf.class === 32 ? 4 : 8;
  const entsize = (rela ? 3 : 2) * w;
  if (relSection.size % entsize !== 0) {
    throw elf.error(`relocation section ${relSection.name}: size 0x${relSection.size.toString(16)} is not a multiple of ${entsize}`);
  }
  const symbols = relSection.link === 0 ? [] : elf.symbolTable(relSection.link);
  const target = elf.sections[relSection.info];
  const r = new ByteReader(relSection.data(), elf.error, `relocation section ${relSection.name}`);
  const out: Relocation[] = [];
  while (!r.atEnd) {
    const offset = r.word(w, "r_offset");
    let sym: number, type: number;
    if (w === 4) {
      const info = r.u32("r_info");
      sym = info >>> 8;
      type = info & 0xff;
    } else {
      type = r.u32("r_info (type)");
      sym = r.u32("r_info (symbol)");
    }
    const addendInEntry = rela ? (w === 4 ? r.i32("r_addend") : r.i64("r_addend")) : undefined;
    const symbol = symbols[sym];
    if (!symbol) throw elf.error(`relocation section ${relSection.name}: entry at offset 0x${offset.toString(16)} names symbol ${sym}, which does not exist`);
    let addend = addendInEntry ?? 0;
    if (!rela && target && elf.type === "REL") addend = inPlaceAddend(elf, relSection, target, offset, type);
    out.push({ offset, type, typeName: typeName(elf, type), symbol, addend, explicitAddend: rela });
  }
  return out;
}

function inPlaceAddend(elf: ElfFile, relSection: ElfSection, target: ElfSection, offset: number, type: number): number {
  const kind = kindOf(elf, type);
  if (!kind || kind.size === 0) return 0;
  if (offset + kind.size > target.size) {
    throw elf.error(`relocation section ${relSection.name}: offset 0x${offset.toString(16)} is outside ${target.name} (size 0x${target.size.toString(16)})`);
  }
  const r = new ByteReader(target.data(), elf.error, `section ${target.name}`, offset);
  if (kind.size === 4) return kind.signed ? r.i32() : r.u32();
  return kind.signed ? r.i64() : r.u64();
}

/** Every relocation section that applies to the given section. */
export function relocationSectionsFor(elf: ElfFile, target: ElfSection): ElfSection[] {
  return elf.sections.filter((s) => (s.type === SHT_REL || s.type === SHT_RELA) && s.info === target.index && s.index !== target.index);
}

/** Every relocation that applies to the given section. */
export function relocationsFor(elf: ElfFile, target: ElfSection | string): Relocation[] {
  const sec = typeof target === "string" ? elf.section(target) : target;
  if (!sec) throw elf.error(`no section ${String(target)}`);
  return relocationSectionsFor(elf, sec).flatMap((rs) => readRelocations(elf, rs));
}

/** Where a relocated word points: a symbol, and the section that symbol is defined in. */
export interface RelocationTarget {
  relocation: Relocation;
  /** Name of the section the symbol lives in (undefined for undefined or absolute symbols). */
  section: string | undefined;
  /** S + A (- P): the value written. */
  value: number;
}

export interface RelocatedSection {
  bytes: Uint8Array;
  /** Relocations by offset in the section. */
  targets: Map<number, RelocationTarget>;
}

/**
 * A copy of the section's bytes with its relocations applied (S + A, or S + A - P for PC-relative
 * ones). Only relocatable objects are changed: in linked files the linker has done it already.
 */
export function applyRelocations(elf: ElfFile, section: ElfSection): RelocatedSection {
  const bytes = section.data().slice();
  const targets = new Map<number, RelocationTarget>();
  if (elf.type !== "REL") return { bytes, targets };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const rel of relocationsFor(elf, section)) {
    const kind = kindOf(elf, rel.type);
    if (!kind) throw elf.error(`section ${section.name}: unsupported relocation type ${rel.typeName} at offset 0x${rel.offset.toString(16)}`);
    if (kind.size === 0) continue;
    if (rel.offset + kind.size > bytes.length) {
      throw elf.error(`section ${section.name}: relocation at offset 0x${rel.offset.toString(16)} is outside the section (size 0x${bytes.length.toString(16)})`);
    }
    const sym = rel.symbol;
    const defined = sym.sectionIndex !== SHN_UNDEF && (sym.sectionIndex < SHN_LORESERVE || sym.sectionIndex === SHN_ABS);
    if (!defined && sym.index !== 0) {
      throw elf.error(`section ${section.name}: relocation at offset 0x${rel.offset.toString(16)} refers to undefined symbol ${sym.name || sym.index}`);
    }
    const symSection = sym.sectionIndex < SHN_LORESERVE && sym.sectionIndex !== SHN_UNDEF ? elf.sections[sym.sectionIndex] : undefined;
    let value = sym.value + rel.addend;
    if (kind.pcRelative) value -= section.addr + rel.offset;
    if (kind.size === 4) view.setUint32(rel.offset, value >>> 0, true);
    else view.setBigUint64(rel.offset, BigInt.asUintN(64, BigInt(value)), true);
    targets.set(rel.offset, { relocation: rel, section: symSection?.name, value });
  }
  return { bytes, targets };
}
