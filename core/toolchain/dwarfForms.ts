// DWARF attribute forms: reading a value of a given form, shared by the line-table header (v5
// entry formats) and the compile-unit reader (.debug_info). Unknown forms are errors, never skipped
// by guessing a size.
import { ByteReader, stringAt } from "./byteReader.js";
import { DwarfError } from "./errors.js";

export const DW_FORM = {
  addr: 0x01,
  block2: 0x03,
  block4: 0x04,
  data2: 0x05,
  data4: 0x06,
  data8: 0x07,
  string: 0x08,
  block: 0x09,
  block1: 0x0a,
  data1: 0x0b,
  flag: 0x0c,
  sdata: 0x0d,
  strp: 0x0e,
  udata: 0x0f,
  ref_addr: 0x10,
  ref1: 0x11,
  ref2: 0x12,
  ref4: 0x13,
  ref8: 0x14,
  ref_udata: 0x15,
  indirect: 0x16,
  sec_offset: 0x17,
  exprloc: 0x18,
  flag_present: 0x19,
  strx: 0x1a,
  addrx: 0x1b,
  ref_sup4: 0x1c,
  strp_sup: 0x1d,
  data16: 0x1e,
  line_strp: 0x1f,
  ref_sig8: 0x20,
  implicit_const: 0x21,
  loclistx: 0x22,
  rnglistx: 0x23,
  ref_sup8: 0x24,
  strx1: 0x25,
  strx2: 0x26,
  strx3: 0x27,
  strx4: 0x28,
  addrx1: 0x29,
  addrx2: 0x2a,
  addrx3: 0x2b,
  addrx4: 0x2c,
  GNU_addr_index: 0x1f01,
  GNU_str_index: 0x1f02,
  GNU_ref_alt: 0x1f20,
  GNU_strp_alt: 0x1f21,
} as const;

export interface FormContext {
  file: string;
  /** What is being read, for messages. */
  where: string;
  version: number;
  addressSize: number;
  /** 4 for 32-bit DWARF, 8 for 64-bit DWARF. */
  offsetSize: 4 | 8;
  debugStr?: Uint8Array;
  debugLineStr?: Uint8Array;
}

export type FormValue = number | string | Uint8Array;

function formName(form: number): string {
  for (const [k, v] of Object.entries(DW_FORM)) if (v === form) return `DW_FORM_${k}`;
  return `form 0x${form.toString(16)}`;
}

function strFrom(table: Uint8Array | undefined, tableName: string, offset: number, ctx: FormContext): string {
  if (!table) throw new DwarfError(ctx.file, `${ctx.where}: refers to ${tableName}, but the file has no ${tableName} section`);
  return stringAt(table, offset, (d) => new DwarfError(ctx.file, `${ctx.where}: ${d}`), tableName);
}

/** Reads a value of the given form; `implicitConst` is the value stored in the abbreviation. */
export function readForm(r: ByteReader, form: number, ctx: FormContext, implicitConst = 0): FormValue {
  switch (form) {
    case DW_FORM.addr:
      return r.unsigned(ctx.addressSize, "an address");
    case DW_FORM.data1:
    case DW_FORM.ref1:
    case DW_FORM.flag:
    case DW_FORM.strx1:
    case DW_FORM.addrx1:
      return r.u8();
    case DW_FORM.data2:
    case DW_FORM.ref2:
    case DW_FORM.strx2:
    case DW_FORM.addrx2:
      return r.u16();
    case DW_FORM.strx3:
    case DW_FORM.addrx3: {
      const lo = r.u16();
      return lo + r.u8() * 0x10000;
    }
    case DW_FORM.data4:
    case DW_FORM.ref4:
    case DW_FORM.ref_sup4:
    case DW_FORM.strx4:
    case DW_FORM.addrx4:
      return r.u32();
    case DW_FORM.data8:
    case DW_FORM.ref8:
    case DW_FORM.ref_sig8:
    case DW_FORM.ref_sup8:
      return r.bytesOf(8, "an 8-byte value");
    case DW_FORM.data16:
      return r.bytesOf(16, "a 16-byte value (MD5)");
    case DW_FORM.sdata:
      return r.sleb();
    case DW_FORM.udata:
    case DW_FORM.ref_udata:
    case DW_FORM.strx:
    case DW_FORM.addrx:
    case DW_FORM.loclistx:
    case DW_FORM.rnglistx:
    case DW_FORM.GNU_addr_index:
    case DW_FORM.GNU_str_index:
      return r.uleb();
    case DW_FORM.string:
      return r.cstring("an inline string");
    case DW_FORM.strp:
      return strFrom(ctx.debugStr, ".debug_str", r.unsigned(ctx.offsetSize, "a .debug_str offset"), ctx);
    case DW_FORM.line_strp:
      return strFrom(ctx.debugLineStr, ".debug_line_str", r.unsigned(ctx.offsetSize, "a .debug_line_str offset"), ctx);
    case DW_FORM.sec_offset:
    case DW_FORM.strp_sup:
    case DW_FORM.GNU_ref_alt:
    case DW_FORM.GNU_strp_alt:
      return r.unsigned(ctx.offsetSize, "a section offset");
    case DW_FORM.ref_addr:
      return r.unsigned(ctx.version <= 2 ? ctx.addressSize : ctx.offsetSize, "a reference");
    case DW_FORM.block1:
      return r.bytesOf(r.u8("a block length"), "a block");
    case DW_FORM.block2:
      return r.bytesOf(r.u16("a block length"), "a block");
    case DW_FORM.block4:
      return r.bytesOf(r.u32("a block length"), "a block");
    case DW_FORM.block:
    case DW_FORM.exprloc:
      return r.bytesOf(r.uleb("a block length"), "a block");
    case DW_FORM.flag_present:
      return 1;
    case DW_FORM.implicit_const:
      return implicitConst;
    case DW_FORM.indirect:
      return readForm(r, r.uleb("an indirect form"), ctx, implicitConst);
    default:
      throw new DwarfError(ctx.file, `${ctx.where}: unknown DWARF form 0x${form.toString(16)} at offset 0x${(r.pos).toString(16)}`);
  }
}

export function describeForm(form: number): string {
  return formName(form);
}
