// What the debugger knows of the program from its ELF: DWARF line rows (address <-> source line,
// indexed for the per-instruction lookups stepping needs) and the symbol table.

import { readLineTable, type ElfFile, type LineTable, type SourceLocation } from "../core/toolchain/index.js";

interface LineRange {
  start: number;
  end: number;
  file: string;
  line: number;
  isStmt: boolean;
}

export interface FunctionSymbol {
  name: string;
  address: number;
  size: number;
}

export class DebugInfo {
  readonly lineTable: LineTable | undefined;
  /** Why there is no line table (no -g, bad DWARF), for breakpoint messages. */
  readonly lineTableProblem: string | undefined;
  private readonly ranges: LineRange[] = [];
  /** Addresses where an is_stmt row begins: the places a line step may stop. */
  private readonly rowStarts = new Set<number>();
  private readonly symbols: FunctionSymbol[] = [];
  /** Where a label without a size stops naming addresses: the end of its section. */
  private readonly labelEnd = new Map<FunctionSymbol, number>();
  private readonly byName = new Map<string, FunctionSymbol>();
  /** Every named symbol (data objects too), for expressions and data breakpoints. */
  private readonly anyByName = new Map<string, FunctionSymbol>();

  constructor(readonly elf: ElfFile | undefined) {
    let table: LineTable | undefined;
    let problem: string | undefined;
    if (elf) {
      try {
        table = readLineTable(elf);
        if (table.rows.length === 0) problem = `${elf.fileName} has no DWARF line table (build it with -g)`;
      } catch (e) {
        problem = (e as Error).message;
      }
    } else problem = "the program is a ROM image without debug information";
    this.lineTable = table;
    this.lineTableProblem = problem;
    if (table) {
      let seq: typeof table.rows = [];
      for (const row of table.rows) {
        seq.push(row);
        if (!row.endSequence) continue;
        for (let i = 0; i + 1 < seq.length; i++) {
          const b = seq[i + 1];
          let a = seq[i];
          // Several rows at one address (views: an inlined or folded prologue, 17 18 19 then 17
          // not a statement): the address is the last statement's there, the line a breakpoint
          // on it is placed for; the last row's line put the stop on another line than the breakpoint's.
          for (let k = i; k >= 0 && seq[k].address === a.address && !a.isStmt; k--) if (seq[k].isStmt) a = seq[k];
          if (b.address > a.address) this.ranges.push({ start: a.address, end: b.address, file: a.file, line: a.line, isStmt: a.isStmt });
          if (a.isStmt) this.rowStarts.add(a.address);
        }
        seq = [];
      }
      this.ranges.sort((x, y) => x.start - y.start);
    }
    if (elf) {
      const textSections = new Set(elf.sections.filter((s) => s.flags & 0x4).map((s) => s.index));
      const allocated = elf.sections.filter((s) => s.flags & 0x2 && s.size > 0);
      const sectionEnd = (index: number, address: number) => {
        const own = allocated.find((x) => x.index === index) ?? allocated.find((x) => address >= x.addr && address < x.addr + x.size);
        return own ? own.addr + own.size : address + 1;
      };
      for (const s of elf.symbols) {
        if (!s.name || s.type === "SECTION" || s.type === "FILE") continue;
        if (!this.anyByName.has(s.name) || s.bind === "GLOBAL") this.anyByName.set(s.name, { name: s.name, address: s.value >>> 0, size: s.size });
        if (s.type !== "FUNC" && !(s.type === "NOTYPE" && textSections.has(s.sectionIndex))) continue;
        const f = { name: s.name, address: s.value >>> 0, size: s.size };
        this.symbols.push(f);
        if (s.size === 0) this.labelEnd.set(f, sectionEnd(s.sectionIndex, f.address));
        const prev = this.byName.get(s.name);
        if (!prev || s.bind === "GLOBAL") this.byName.set(s.name, f);
      }
      this.symbols.sort((a, b) => a.address - b.address || b.size - a.size);
    }
  }

  private rangeAt(addr: number): LineRange | undefined {
    const r = this.ranges;
    let lo = 0;
    let hi = r.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid].start <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    const c = r[hi];
    return c && addr < c.end ? c : undefined;
  }

  /** Source line of the instruction at addr. */
  lineAt(addr: number): SourceLocation | undefined {
    const r = this.rangeAt(addr >>> 0);
    return r ? { file: r.file, line: r.line, column: 0 } : undefined;
  }

  /** True when a statement row starts exactly at addr. */
  isLineStart(addr: number): boolean {
    return this.rowStarts.has(addr >>> 0);
  }

  /** Address of a function (or text label) by name. */
  lookup(name: string): FunctionSymbol | undefined {
    return this.byName.get(name);
  }

  /** Any symbol (function, object, label) by name. */
  lookupAny(name: string): FunctionSymbol | undefined {
    return this.anyByName.get(name);
  }

  /**
   * The function symbol containing addr: a sized symbol that covers it, else the nearest label
   * before it in the same section (assembly labels have no size). An address outside them all
   * (the wedge, a hole, unmapped space) has none, however near a symbol.
   */
  functionAt(addr: number): FunctionSymbol | undefined {
    addr >>>= 0;
    const s = this.symbols;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid].address <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    // Prefer a sized symbol covering addr; else the nearest label before it (asm local labels have size 0).
    for (let i = hi; i >= 0 && i > hi - 8; i--) {
      const f = s[i];
      if (f.size > 0 && addr < f.address + f.size) return f;
      if (f.size === 0 && i === hi) {
        const sized = s.slice(Math.max(0, i - 8), i).reverse().find((g) => g.size > 0 && addr < g.address + g.size);
        return sized ?? (addr < (this.labelEnd.get(f) ?? f.address + 1) ? f : undefined);
      }
    }
    return undefined;
  }

  /** "name+0x12" for an address, or undefined when no symbol precedes it. */
  symbolize(addr: number): string | undefined {
    const f = this.functionAt(addr);
    if (!f) return undefined;
    const off = (addr >>> 0) - f.address;
    if (off > 0x100000) return undefined;
    return off === 0 ? f.name : `${f.name}+0x${off.toString(16)}`;
  }

  /** Every known function/label start (sync points for decoding backwards). */
  symbolStartsBefore(addr: number, limit: number): number[] {
    return this.symbols.filter((s) => s.address <= addr && addr - s.address <= limit).map((s) => s.address);
  }

  /** Line-row starts in [from, to). */
  rowStartsIn(from: number, to: number): number[] {
    const out: number[] = [];
    for (const r of this.ranges) {
      if (r.start >= to) break;
      if (r.start >= from && r.isStmt) out.push(r.start);
    }
    return out;
  }

  /** Whether code built with frame pointers is likely at this function: push %ebp; mov %esp,%ebp. */
  get hasSymbols(): boolean {
    return this.symbols.length > 0;
  }

  allFunctions(): readonly FunctionSymbol[] {
    return this.symbols;
  }
}
