// .afterburn records: {start, end} word pairs, one per padded sensitive site (and the same format in
// the hand-written memory-annotation sections .afterburn.pte_set ...).
import { ByteReader } from "./byteReader.js";
import type { ElfFile, ElfSection } from "./elf.js";
import { applyRelocations } from "./relocations.js";

export interface AnnotationRecord {
  /** Address (linked file) or offset within `section` (relocatable object). */
  start: number;
  /** First byte after the padding. */
  end: number;
  /** In relocatable objects: the section both words point into (".text", ".text.startup"...). */
  section?: string;
}

/**
 * Whether a section holds annotation records: `.afterburn`, `.afterburn32` and `.afterburn.<kind>`. Other
 * sections that merely share the prefix (`.afterburn_wedge_module`) have a different layout.
 */
export function isAnnotationSection(name: string): boolean {
  return name === ".afterburn" || name === ".afterburn32" || name.startsWith(".afterburn.");
}

/** The annotation sections of a file (see isAnnotationSection). */
export function annotationSections(elf: ElfFile): ElfSection[] {
  return elf.sections.filter((s) => isAnnotationSection(s.name));
}

/** Word size of a record: `.afterburn32` is 4-byte words in any class, otherwise the ELF class decides. */
export function annotationWordSize(elf: ElfFile, sectionName: string): 4 | 8 {
  return sectionName === ".afterburn32" || sectionName.startsWith(".afterburn32.") || elf.class === 32 ? 4 : 8;
}

export function readAnnotationRecords(elf: ElfFile, sectionName = ".afterburn"): AnnotationRecord[] {
  const sec = elf.section(sectionName);
  if (!sec) return [];
  const w = annotationWordSize(elf, sectionName);
  if (sec.size % (2 * w) !== 0) {
    throw elf.error(`section ${sectionName}: size 0x${sec.size.toString(16)} is not a whole number of ${2 * w}-byte {start, end} records`);
  }
  const { bytes, targets } = applyRelocations(elf, sec);
  const r = new ByteReader(bytes, elf.error, `section ${sectionName}`);
  const relocatable = elf.type === "REL";
  const out: AnnotationRecord[] = [];
  while (!r.atEnd) {
    const at = r.pos;
    const start = r.word(w, "record start");
    const end = r.word(w, "record end");
    if (end < start) throw elf.error(`section ${sectionName}: record ${out.length} ends (0x${end.toString(16)}) before it starts (0x${start.toString(16)})`);
    if (!relocatable) {
      out.push({ start, end });
      continue;
    }
    const startSection = targets.get(at)?.section;
    const endSection = targets.get(at + w)?.section;
    if (startSection !== endSection) {
      throw elf.error(`section ${sectionName}: record ${out.length} starts in ${startSection ?? "no section"} but ends in ${endSection ?? "no section"}`);
    }
    out.push(startSection === undefined ? { start, end } : { section: startSection, start, end });
  }
  return out;
}
