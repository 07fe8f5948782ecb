// Compile units from .debug_info, read only as far as the first DIE: its DW_AT_stmt_list ties a line
// table to the unit's DW_AT_comp_dir, which DWARF 2-4 line tables leave out (directory 0).
import { ByteReader } from "./byteReader.js";
import type { ElfFile } from "./elf.js";
import { DwarfError } from "./errors.js";
import { DW_FORM, readForm, type FormContext } from "./dwarfForms.js";
import { applyRelocations } from "./relocations.js";

const DW_AT_name = 0x03;
const DW_AT_stmt_list = 0x10;
const DW_AT_comp_dir = 0x1b;
const DW_UT_compile = 0x01;
const DW_UT_partial = 0x03;

export interface CompileUnitInfo {
  name?: string;
  compDir?: string;
  stmtList?: number;
}

interface AbbrevAttr {
  attr: number;
  form: number;
  implicitConst: number;
}

/** Relocated bytes of a section (relocatable objects), or its plain bytes. */
export function sectionBytes(elf: ElfFile, name: string): Uint8Array | undefined {
  const sec = elf.section(name);
  if (!sec) return undefined;
  return elf.type === "REL" ? applyRelocations(elf, sec).bytes : sec.data();
}

function firstAbbrev(abbrev: Uint8Array, offset: number, code: number, fail: (d: string) => DwarfError): AbbrevAttr[] {
  const r = new ByteReader(abbrev, fail, "section .debug_abbrev", offset);
  if (offset > abbrev.length) throw fail(`abbreviation offset 0x${offset.toString(16)} is past the end of .debug_abbrev`);
  for (;;) {
    const c = r.uleb("an abbreviation code");
    if (c === 0) throw fail(`abbreviation ${code} not found at .debug_abbrev offset 0x${offset.toString(16)}`);
    r.uleb("a tag");
    r.u8("the children flag");
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const attr = r.uleb("an attribute");
      const form = r.uleb("a form");
      if (attr === 0 && form === 0) break;
      const implicitConst = form === DW_FORM.implicit_const ? r.sleb("an implicit constant") : 0;
      attrs.push({ attr, form, implicitConst });
    }
    if (c === code) return attrs;
  }
}

export function readCompileUnits(elf: ElfFile): CompileUnitInfo[] {
  const info = sectionBytes(elf, ".debug_info");
  if (!info) return [];
  const fail = (d: string) => new DwarfError(elf.fileName, d);
  const abbrev = sectionBytes(elf, ".debug_abbrev");
  if (!abbrev) throw fail("has .debug_info but no .debug_abbrev");
  const debugStr = sectionBytes(elf, ".debug_str");
  const debugLineStr = sectionBytes(elf, ".debug_line_str");
  const r = new ByteReader(info, fail, "section .debug_info");
  const units: CompileUnitInfo[] = [];
  while (!r.atEnd) {
    const unitStart = r.pos;
    let length = r.u32("a unit length");
    let offsetSize: 4 | 8 = 4;
    if (length === 0xffffffff) {
      length = r.u64("a 64-bit unit length");
      offsetSize = 8;
    } else if (length >= 0xfffffff0) throw fail(`.debug_info unit at 0x${unitStart.toString(16)} has reserved length 0x${length.toString(16)}`);
    const unitEnd = r.pos + length;
    if (unitEnd > info.length) throw fail(`.debug_info unit at 0x${unitStart.toString(16)} (length 0x${length.toString(16)}) runs past the end of the section`);
    const version = r.u16("a unit version");
    if (version < 2 || version > 5) throw fail(`.debug_info unit at 0x${unitStart.toString(16)} has unsupported DWARF version ${version}`);
    let unitType = DW_UT_compile;
    let abbrevOffset: number;
    let addressSize: number;
    if (version === 5) {
      unitType = r.u8("a unit type");
      addressSize = r.u8("an address size");
      abbrevOffset = r.unsigned(offsetSize, "an abbreviation offset");
    } else {
      abbrevOffset = r.unsigned(offsetSize, "an abbreviation offset");
      addressSize = r.u8("an address size");
    }
    if (unitType === DW_UT_compile || unitType === DW_UT_partial) {
      const code = r.uleb("an abbreviation code");
      const unit: CompileUnitInfo = {};
      if (code !== 0) {
        const ctx: FormContext = { file: elf.fileName, where: `.debug_info unit at 0x${unitStart.toString(16)}`, version, addressSize, offsetSize, debugStr, debugLineStr };
        for (const a of firstAbbrev(abbrev, abbrevOffset, code, fail)) {
          const v = readForm(r, a.form, ctx, a.implicitConst);
          if (a.attr === DW_AT_name && typeof v === "string") unit.name = v;
          else if (a.attr === DW_AT_comp_dir && typeof v === "string") unit.compDir = v;
          else if (a.attr === DW_AT_stmt_list && typeof v === "number") unit.stmtList = v;
        }
      }
      units.push(unit);
    }
    r.pos = unitEnd;
  }
  return units;
}
