// DWARF line tables (.debug_line, versions 2-5): the rows of every sequence, and the two lookups the
// debugger needs (address -> source line, source line -> breakpoint addresses).
import { posix } from "node:path";
import { ByteReader } from "./byteReader.js";
import type { ElfFile } from "./elf.js";
import { DwarfError } from "./errors.js";
import { readForm, describeForm, type FormContext } from "./dwarfForms.js";
import { readCompileUnits, sectionBytes } from "./dwarfUnits.js";
import { applyRelocations, type RelocationTarget } from "./relocations.js";

export interface LineRow {
  address: number;
  /** Path resolved against the include directory and the compilation directory. */
  file: string;
  line: number;
  column: number;
  isStmt: boolean;
  endSequence: boolean;
  /** In relocatable objects: the section the address is an offset into (from the set_address relocation). */
  section?: string;
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface LineBreakpoint {
  /** The line that has code: the requested one, or the next one after it ("moved to line N"). */
  line: number;
  /** Full paths of the matching files. */
  files: string[];
  /** Addresses of the is_stmt rows of that line, ascending, without duplicates. */
  addresses: number[];
}

export interface LineTable {
  rows: LineRow[];
  /** Every file named in the tables, resolved. */
  files: string[];
  /** The row covering addr (in relocatable objects, pass the section). */
  addressToLine(addr: number, section?: string): SourceLocation | undefined;
  /**
   * Breakpoint addresses for a source line. `file` matches by path suffix on whole components
   * ("hello.S" finds "/abs/examples/hello/hello.S"). A line without code moves to the next line
   * with code in the same file; undefined when there is none.
   */
  lineToAddresses(file: string, line: number): LineBreakpoint | undefined;
}

const DW_LNS_copy = 1;
const DW_LNS_advance_pc = 2;
const DW_LNS_advance_line = 3;
const DW_LNS_set_file = 4;
const DW_LNS_set_column = 5;
const DW_LNS_negate_stmt = 6;
const DW_LNS_set_basic_block = 7;
const DW_LNS_const_add_pc = 8;
const DW_LNS_fixed_advance_pc = 9;
const DW_LNS_set_prologue_end = 10;
const DW_LNS_set_epilogue_begin = 11;
const DW_LNS_set_isa = 12;
const DW_LNE_end_sequence = 1;
const DW_LNE_set_address = 2;
const DW_LNE_define_file = 3;
const DW_LNE_set_discriminator = 4;
const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;

function resolvePath(compDir: string | undefined, dir: string | undefined, name: string): string {
  if (name.startsWith("/")) return posix.normalize(name);
  let d = dir ?? "";
  if (!d.startsWith("/") && compDir) d = posix.join(compDir, d);
  return d === "" ? posix.normalize(name) : posix.join(d, name);
}

interface UnitFiles {
  /** Lookup by the file register's value. */
  fileAt(index: number): string;
}

export function readLineTable(elf: ElfFile): LineTable {
  const sec = elf.section(".debug_line");
  const rows: LineRow[] = [];
  const files = new Set<string>();
  if (sec) {
    const fail = (d: string) => new DwarfError(elf.fileName, d);
    const { bytes, targets } = elf.type === "REL" ? applyRelocations(elf, sec) : { bytes: sec.data(), targets: new Map<number, RelocationTarget>() };
    const compDirs = new Map<number, string>();
    for (const u of readCompileUnits(elf)) if (u.stmtList !== undefined && u.compDir !== undefined) compDirs.set(u.stmtList, u.compDir);
    const debugStr = sectionBytes(elf, ".debug_str");
    const debugLineStr = sectionBytes(elf, ".debug_line_str");
    const r = new ByteReader(bytes, fail, "section .debug_line");
    while (!r.atEnd) {
      const unitStart = r.pos;
      readUnit(r, unitStart, compDirs.get(unitStart), { file: elf.fileName, debugStr, debugLineStr }, targets, rows, files, fail);
    }
  }
  return makeLineTable(rows, [...files]);
}

function readUnit(
  r: ByteReader,
  unitStart: number,
  compDirFromInfo: string | undefined,
  strs: { file: string; debugStr?: Uint8Array; debugLineStr?: Uint8Array },
  targets: Map<number, RelocationTarget>,
  rows: LineRow[],
  allFiles: Set<string>,
  fail: (d: string) => DwarfError,
): void {
  const at = `.debug_line unit at 0x${unitStart.toString(16)}`;
  let length = r.u32("a unit length");
  let offsetSize: 4 | 8 = 4;
  if (length === 0xffffffff) {
    length = r.u64("a 64-bit unit length");
    offsetSize = 8;
  } else if (length >= 0xfffffff0) throw fail(`${at}: reserved unit length 0x${length.toString(16)}`);
  const unitEnd = r.pos + length;
  if (unitEnd > r.length) throw fail(`${at}: length 0x${length.toString(16)} runs past the end of the section (size 0x${r.length.toString(16)})`);
  const version = r.u16("a version");
  if (version < 2 || version > 5) throw fail(`${at}: unsupported DWARF line table version ${version}`);
  let addressSize = 0;
  if (version >= 5) {
    addressSize = r.u8("an address size");
    r.u8("a segment selector size");
  }
  const headerLength = r.unsigned(offsetSize, "a header length");
  const programStart = r.pos + headerLength;
  if (programStart > unitEnd) throw fail(`${at}: header length 0x${headerLength.toString(16)} runs past the end of the unit`);
  const minInstLength = r.u8("minimum_instruction_length");
  const maxOps = version >= 4 ? r.u8("maximum_operations_per_instruction") : 1;
  if (maxOps === 0) throw fail(`${at}: maximum_operations_per_instruction is 0`);
  const defaultIsStmt = r.u8("default_is_stmt") !== 0;
  const lineBase = r.i8("line_base");
  const lineRange = r.u8("line_range");
  if (lineRange === 0) throw fail(`${at}: line_range is 0`);
  const opcodeBase = r.u8("opcode_base");
  if (opcodeBase === 0) throw fail(`${at}: opcode_base is 0`);
  const opLengths = [0];
  for (let i = 1; i < opcodeBase; i++) opLengths.push(r.u8("standard_opcode_lengths"));

  const ctx: FormContext = { file: strs.file, where: at, version, addressSize: addressSize || 4, offsetSize, debugStr: strs.debugStr, debugLineStr: strs.debugLineStr };
  let dirs: string[] = [];
  const names: { name: string; dir: number }[] = [];
  let compDir = compDirFromInfo;
  if (version >= 5) {
    const readEntries = (what: string) => {
      const formatCount = r.u8(`${what} entry format count`);
      const format: [number, number][] = [];
      for (let i = 0; i < formatCount; i++) format.push([r.uleb("a content type"), r.uleb("a form")]);
      const count = r.uleb(`${what} count`);
      const out: { path?: string; dir: number }[] = [];
      for (let i = 0; i < count; i++) {
        const e: { path?: string; dir: number } = { dir: 0 };
        for (const [type, form] of format) {
          const v = readForm(r, form, { ...ctx, where: `${at}, ${what} ${i}` });
          if (type === DW_LNCT_path) {
            if (typeof v !== "string") throw fail(`${at}: ${what} ${i} path has form ${describeForm(form)}, which is not a string form this reader supports`);
            e.path = v;
          } else if (type === DW_LNCT_directory_index) {
            if (typeof v !== "number") throw fail(`${at}: ${what} ${i} directory index has non-integer form ${describeForm(form)}`);
            e.dir = v;
          }
        }
        out.push(e);
      }
      return out;
    };
    dirs = readEntries("directory").map((d) => d.path ?? "");
    for (const f of readEntries("file name")) names.push({ name: f.path ?? "", dir: f.dir });
    // DWARF 5: directory 0 is the compilation directory itself.
    compDir = dirs[0] || compDir;
  } else {
    for (;;) {
      const d = r.cstring("an include directory");
      if (d === "") break;
      dirs.push(d);
    }
    for (;;) {
      const name = r.cstring("a file name");
      if (name === "") break;
      const dir = r.uleb("a directory index");
      r.uleb("a modification time");
      r.uleb("a file length");
      names.push({ name, dir });
    }
  }
  if (r.pos > programStart) throw fail(`${at}: the header is longer than its header_length says`);

  const dirPath = (i: number): string | undefined => {
    if (version >= 5) {
      if (i >= dirs.length) throw fail(`${at}: directory index ${i} is out of range (${dirs.length} directories)`);
      return i === 0 ? compDir : dirs[i];
    }
    if (i === 0) return compDir;
    if (i > dirs.length) throw fail(`${at}: directory index ${i} is out of range (${dirs.length} include directories)`);
    return dirs[i - 1];
  };
  const resolved: (string | undefined)[] = [];
  const files: UnitFiles = {
    fileAt(index) {
      // DWARF 5 numbers files from 0, earlier versions from 1.
      const i = version >= 5 ? index : index - 1;
      if (i < 0 || i >= names.length) throw fail(`${at}: file index ${index} is out of range (${names.length} files)`);
      let p = resolved[i];
      if (p === undefined) {
        p = resolvePath(compDir, dirPath(names[i]!.dir), names[i]!.name);
        resolved[i] = p;
      }
      return p;
    },
  };
  for (let i = 0; i < names.length; i++) allFiles.add(files.fileAt(version >= 5 ? i : i + 1));

  // The line-number program.
  r.pos = programStart;
  const prog = new ByteReader(r.bytes.subarray(0, unitEnd), fail, "section .debug_line", programStart);
  let address = 0;
  let opIndex = 0;
  let file = 1;
  let line = 1;
  let column = 0;
  let isStmt = defaultIsStmt;
  let section: string | undefined;
  const advance = (operationAdvance: number) => {
    if (maxOps === 1) address += minInstLength * operationAdvance;
    else {
      address += minInstLength * Math.floor((opIndex + operationAdvance) / maxOps);
      opIndex = (opIndex + operationAdvance) % maxOps;
    }
  };
  const emit = (endSequence: boolean) => {
    const row: LineRow = { address, file: files.fileAt(file), line, column, isStmt, endSequence };
    if (section !== undefined) row.section = section;
    rows.push(row);
  };
  const reset = () => {
    address = 0;
    opIndex = 0;
    file = 1;
    line = 1;
    column = 0;
    isStmt = defaultIsStmt;
    section = undefined;
  };
  while (!prog.atEnd) {
    const opAt = prog.pos;
    const op = prog.u8("an opcode");
    if (op >= opcodeBase) {
      const adjusted = op - opcodeBase;
      advance(Math.floor(adjusted / lineRange));
      line += lineBase + (adjusted % lineRange);
      emit(false);
    } else if (op === 0) {
      const len = prog.uleb("an extended opcode length");
      const end = prog.pos + len;
      if (len === 0 || end > unitEnd) throw fail(`${at}: extended opcode at 0x${opAt.toString(16)} has bad length ${len}`);
      const sub = prog.u8("an extended opcode");
      switch (sub) {
        case DW_LNE_end_sequence:
          emit(true);
          reset();
          break;
        case DW_LNE_set_address: {
          const operandAt = prog.pos;
          address = prog.unsigned(len - 1, "a set_address operand");
          opIndex = 0;
          section = targets.get(operandAt)?.section;
          break;
        }
        case DW_LNE_define_file: {
          const name = prog.cstring("a define_file name");
          const dir = prog.uleb("a directory index");
          prog.uleb("a modification time");
          prog.uleb("a file length");
          names.push({ name, dir });
          allFiles.add(files.fileAt(version >= 5 ? names.length - 1 : names.length));
          break;
        }
        case DW_LNE_set_discriminator:
        default:
          // Operands we do not need (discriminator, vendor extensions) are skipped by their length.
          break;
      }
      prog.pos = end;
    } else {
      switch (op) {
        case DW_LNS_copy:
          emit(false);
          break;
        case DW_LNS_advance_pc:
          advance(prog.uleb("an advance_pc operand"));
          break;
        case DW_LNS_advance_line:
          line += prog.sleb("an advance_line operand");
          break;
        case DW_LNS_set_file:
          file = prog.uleb("a set_file operand");
          break;
        case DW_LNS_set_column:
          column = prog.uleb("a set_column operand");
          break;
        case DW_LNS_negate_stmt:
          isStmt = !isStmt;
          break;
        case DW_LNS_set_basic_block:
        case DW_LNS_set_prologue_end:
        case DW_LNS_set_epilogue_begin:
          break;
        case DW_LNS_const_add_pc:
          advance(Math.floor((255 - opcodeBase) / lineRange));
          break;
        case DW_LNS_fixed_advance_pc:
          address += prog.u16("a fixed_advance_pc operand");
          opIndex = 0;
          break;
        case DW_LNS_set_isa:
          prog.uleb("a set_isa operand");
          break;
        default:
          // An opcode this reader does not know: the header says how many ULEB operands to skip.
          for (let i = 0; i < opLengths[op]!; i++) prog.uleb("an operand");
      }
    }
  }
  r.pos = unitEnd;
}

function suffixMatches(path: string, query: string): boolean {
  const q = posix.normalize(query.replace(/\\/g, "/")).replace(/^\.\//, "");
  return path === q || path.endsWith("/" + q) || (q.startsWith("/") && posix.normalize(path) === q);
}

function makeLineTable(rows: LineRow[], files: string[]): LineTable {
  // Address ranges, per sequence: row i covers [row.address, next row's address).
  interface Range {
    start: number;
    end: number;
    row: LineRow;
  }
  let ranges: Range[] | undefined;
  const buildRanges = (): Range[] => {
    const out: Range[] = [];
    let seq: LineRow[] = [];
    for (const row of rows) {
      seq.push(row);
      if (!row.endSequence) continue;
      for (let i = 0; i + 1 < seq.length; i++) {
        const a = seq[i]!;
        const b = seq[i + 1]!;
        if (b.address > a.address) out.push({ start: a.address, end: b.address, row: a });
      }
      seq = [];
    }
    return out.sort((x, y) => x.start - y.start);
  };
  return {
    rows,
    files,
    addressToLine(addr, section) {
      ranges ??= buildRanges();
      for (const r of ranges) {
        if (r.start > addr) break;
        if (addr < r.end && (section === undefined || r.row.section === section)) {
          return { file: r.row.file, line: r.row.line, column: r.row.column };
        }
      }
      return undefined;
    },
    lineToAddresses(file, line) {
      const candidates = rows.filter((r) => r.isStmt && !r.endSequence && r.line >= line && suffixMatches(r.file, file));
      if (candidates.length === 0) return undefined;
      // Not Math.min(...): every row from the line on can be a candidate, too many to spread into arguments.
      const best = candidates.reduce((m, r) => Math.min(m, r.line), Infinity);
      const hits = candidates.filter((r) => r.line === best);
      return {
        line: best,
        files: [...new Set(hits.map((r) => r.file))],
        addresses: [...new Set(hits.map((r) => r.address))].sort((a, b) => a - b),
      };
    },
  };
}
