// The afterburner's fast path. Compiler output and preprocessed .S files have no macros, loops or
// conditionals, so most of their lines cannot hold a sensitive instruction. One pass over the raw
// text reads each line's first word (after labels) and hashes it without allocating: only lines
// whose word is a catalogue spelling or prefix, a mov/push/pop naming a segment, control or debug
// register, a directive that changes context (sections, code size, .file, the afterburner's own),
// a cpp line (markers, #APP), a line with ';' or '/*', and the lines inside a block comment or a
// continued cpp line are parsed, with the same line parser the full path uses (each distinct line
// text once: inline asm repeats the same few lines all over a kernel). The result is the
// statement stream the full parser yields for those lines (burn's tests compare both paths on
// random and corpus input); what this pass does not model (macros, .rept/.irp, gas or cpp
// conditionals, lone CR line breaks, symbols set to registers) sends the whole file to the full parser instead.

import * as lineModule from "../asm/line.js";
import * as cppModule from "../asm/cpp.js";
import { isPrefixOnly, PREFIX_WORDS } from "../asm/registers.js";
import { SYMBOL_DIRECTIVES } from "../asm/expand.js";
import type { CodeMode, ExpandedStatement, LexState, ParseDiagnostic, SourceOrigin, Statement } from "../asm/types.js";
import * as expandedModule from "../asm/expanded.js";
import { CATALOGUE } from "../isa/index.js";
import { isCodeSection } from "../asm/encoded.js";

// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { LEX_INITIAL, parseLine } = lineModule;
const { parseLineMarker } = cppModule;
const { expandedStatement } = expandedModule;

/** What a line's first word asks for (0: nothing). Two words of one hash but different kinds become PARSE. */
const LOC = 1; // `.loc`: only the last one before a site matters; parsed lazily
const REG = 2; // sensitive only with a segment, control or debug register operand
const PARSE = 3; // always parse the line
const BYTES = 4; // `.byte`: parsed in a code section only (bytes that may encode a sensitive instruction)

const TABLE_MASK = 2047;

/** Open-addressing table of 32-bit hashes of lower-case words → kind. A false hit only costs a parse. */
class WordTable {
  readonly keys = new Int32Array(TABLE_MASK + 1);
  readonly kinds = new Uint8Array(TABLE_MASK + 1);

  add(word: string, kind: number): void {
    const h = hashWord(word);
    let i = slot(h);
    while (this.kinds[i] !== 0 && this.keys[i] !== h) i = (i + 1) & TABLE_MASK;
    this.keys[i] = h;
    this.kinds[i] = this.kinds[i] === 0 || this.kinds[i] === kind ? kind : PARSE;
  }
}

function slot(h: number): number {
  return (h ^ (h >>> 11)) & TABLE_MASK;
}

/** The hash the scanner computes character by character (ASCII letters folded to lower case). */
function hashWord(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + foldCase(word.charCodeAt(i))) | 0;
  return h;
}

function foldCase(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Directives that set a symbol: one set to a register makes it a register operand, which only the full path follows. */
/**
 * Directives after which statements have another mode or section (mirrored from the full parser's
 * derive pass), and `.org`, `.include` and the syntax switches, which the afterburner reports.
 */
const CONTEXT_DIRECTIVES = [".text", ".data", ".bss", ".section", ".pushsection", ".popsection", ".previous", ".code16", ".code16gcc", ".code32", ".code64", ".file", ".org", ".include", ".intel_syntax", ".att_syntax", ...SYMBOL_DIRECTIVES];
/** Directives the fast path does not model: the whole file goes to the full parser. */
const FULL_PARSE_DIRECTIVES: ReadonlySet<string> = new Set([
  ".macro", ".endm", ".endmacro", ".rept", ".irp", ".irpc", ".endr", ".exitm", ".purgem",
  ".if", ".ifdef", ".ifndef", ".ifnotdef", ".ifb", ".ifnb", ".ifc", ".ifnc", ".ifeq", ".ifne", ".iflt", ".ifle",
  ".ifgt", ".ifge", ".ifeqs", ".ifnes", ".else", ".elseif", ".endif",
]);
// #define alone changes nothing here: its values only feed conditionals, which do go to the full parser.
const FULL_PARSE_CPP: ReadonlySet<string> = new Set(["if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif"]);

interface Tables {
  words: WordTable;
  registers: ReadonlySet<string>;
  /** registerStartPattern(registers); findRegister() sets its lastIndex before each use. */
  registerStart: RegExp;
}

let tables: Tables | undefined;

function buildTables(): Tables {
  if (tables) return tables;
  const words = new WordTable();
  const registerNames = new Set<string>();
  const spellings = new Map<string, boolean>(); // spelling → every entry needs a register operand
  for (const e of CATALOGUE) {
    for (const m of e.mnemonics) spellings.set(m, (spellings.get(m) ?? true) && e.condition.kind === "register");
    if (e.condition.kind === "register") for (const r of e.condition.registers) registerNames.add(r);
  }
  for (const [m, onlyRegister] of spellings) words.add(m, onlyRegister ? REG : PARSE);
  for (const p of PREFIX_WORDS) words.add(p, PARSE);
  for (const d of CONTEXT_DIRECTIVES) words.add(d, PARSE);
  for (const d of FULL_PARSE_DIRECTIVES) words.add(d, PARSE);
  words.add(".loc", LOC);
  words.add(".byte", BYTES);
  tables = { words, registers: registerNames, registerStart: registerStartPattern(registerNames) };
  return tables;
}

// Character classes of the line parser (core/asm/chars.ts): identifier start and part, ASCII only here.
const IDENT_START = new Uint8Array(128);
/** Identifier-part characters folded to lower case; 0 for every other character. */
const FOLDED = new Uint8Array(128);
/** The parser's spaces: blank, tab, CR, FF, VT. */
const SPACE = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  IDENT_START[c] = letter || c === 95 || c === 46 ? 1 : 0;
  FOLDED[c] = letter || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 36 ? foldCase(c) : 0;
  SPACE[c] = c === 32 || c === 9 || c === 13 || c === 12 || c === 11 ? 1 : 0;
}

/**
 * A regex for `%` plus the start of a listed register: the two-letter names whole, the others
 * (cr3, dr7, db0...) by their first two letters and a digit. Each shape is one pair of character
 * classes (a superset: %cb0 too; findRegister() checks the whole name) rather than one alternative
 * per name, and no i flag: V8 scans for it fastest that way, and a hit costs little.
 */
function registerStartPattern(registers: ReadonlySet<string>): RegExp {
  const either = (c: string) => (c.toLowerCase() === c.toUpperCase() ? c : c.toLowerCase() + c.toUpperCase());
  const escape = (c: string) => c.replace(/[\]\\^-]/g, "\\$&");
  const shapes = new Map<string, [Set<string>, Set<string>]>(); // regex tail → the first and second characters
  for (const r of registers) {
    const tail = r.length === 2 ? "(?![A-Za-z0-9._])" : /^\d+$/.test(r.slice(2)) ? "\\d" : `(?:${[...r.slice(2)].map((c) => `[${escape(either(c))}]`).join("")})`;
    const shape = shapes.get(tail) ?? [new Set<string>(), new Set<string>()];
    shape[0].add(either(r[0]!));
    shape[1].add(either(r[1]!));
    shapes.set(tail, shape);
  }
  const alternatives = [...shapes].map(([tail, [a, b]]) => `[${escape([...a].join(""))}][${escape([...b].join(""))}]${tail}`);
  return new RegExp(`%(?:${alternatives.join("|")})`, "g");
}

/** Whether only a \r may follow p on the line ending at end. */
function lineEndsAt(text: string, p: number, end: number): boolean {
  return p === end || (p === end - 1 && text.charCodeAt(p) === 13);
}

/** What a line's text parses to from the initial lexer state. */
interface ParsedText {
  /** Set (null: not a marker the parser accepts) when the line is a plain gcc line marker, which is all it holds. */
  marker: { line: number; file?: string } | null | undefined;
  statements: readonly Statement[];
  state: LexState;
  /** What the parser could not read (a site may hide there), spans on the line first parsed. */
  diagnostics: readonly ParseDiagnostic[];
}

const NO_STATEMENTS: readonly Statement[] = [];
const NO_DIAGNOSTICS: readonly ParseDiagnostic[] = [];

export interface ScanResult {
  /**
   * The statements of the lines that matter, with the mode, section and origin the full parser gives them.
   * Lines of the same text share their statement objects, spans included: `line` here is the line.
   */
  statements: ExpandedStatement[];
  /** Offset in the text where each line holding one of those statements starts. */
  lineStarts: Map<number, number>;
  /**
   * The parser's diagnostics on the lines parsed (not on the lines passed over): those that could
   * hold a site (`rep/insb`, a quoted label before `cli`) and the parser could not read.
   */
  diagnostics: ParseDiagnostic[];
}

/**
 * Walks the lines of a text and stops at the ones the first-word test cannot rule out. Kept apart
 * from the statement bookkeeping so that its loop runs on locals only.
 */
class LineFinder {
  /** The line found by next(): number, start offset and end of its content (before \r\n or \n). */
  line = -1;
  start = 0;
  contentEnd = 0;
  /** Start of the line after it. */
  private following = 0;
  /** #APP / #NO_APP state, tracked here for gcc's exact lines so they need no parse. */
  inApp = false;
  /** The section in force holds code (set by scanSites): its `.byte` lines are parsed. */
  inCode = true;
  /** The last `.loc` line passed over since the previous stop (-1: none), and its line number. */
  pendingLoc = -1;
  pendingLocLine = 0;
  private nextSemi: number;
  private nextComment: number;
  private nextRegister = -1;
  private readonly n: number;
  private readonly words: WordTable;
  private readonly registers: ReadonlySet<string>;
  /** Finds `%` followed by the start of a listed register; findRegister() checks the whole name. */
  private readonly registerStart: RegExp;

  constructor(private readonly text: string, tables: Tables) {
    this.words = tables.words;
    this.registers = tables.registers;
    this.registerStart = tables.registerStart;
    this.n = text.length;
    const semi = text.indexOf(";");
    this.nextSemi = semi < 0 ? this.n : semi;
    const comment = text.indexOf("/*");
    this.nextComment = comment < 0 ? this.n : comment;
  }

  /** Offset of the next `%reg` at or after p naming a listed register (n when none). */
  private findRegister(p: number): number {
    const text = this.text;
    const re = this.registerStart;
    re.lastIndex = p;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      // The name as the operand parser reads it: up to the first character outside [A-Za-z0-9._].
      let q = m.index + 1;
      for (;;) {
        const c = text.charCodeAt(q);
        const l = c | 0x20;
        if ((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95) q++;
        else break;
      }
      if (this.registers.has(text.slice(m.index + 1, q).toLowerCase())) return m.index;
      re.lastIndex = q;
    }
    return this.n;
  }

  /** Moves to the next line, whatever it holds. False at the end of the text. */
  step(): boolean {
    const text = this.text;
    const n = this.n;
    const start = this.following;
    if (start > n) return false;
    let end = text.indexOf("\n", start);
    if (end < 0) end = n;
    this.line++;
    this.start = start;
    this.contentEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    this.following = end + 1;
    return true;
  }

  /** Moves to the next line that may matter. False at the end of the text. */
  next(): boolean {
    const text = this.text;
    const n = this.n;
    const keys = this.words.keys;
    const kinds = this.words.kinds;
    let line = this.line;
    let start = this.following;
    let nextSemi = this.nextSemi;
    let nextComment = this.nextComment;
    let nextRegister = this.nextRegister;
    while (start <= n) {
      line++;
      let end = text.indexOf("\n", start);
      if (end < 0) end = n;
      if (nextSemi < start) {
        nextSemi = text.indexOf(";", start);
        if (nextSemi < 0) nextSemi = n;
      }
      if (nextComment < start) {
        nextComment = text.indexOf("/*", start);
        if (nextComment < 0) nextComment = n;
      }
      // A trailing \r is whitespace and never part of a word: `end` bounds the line well enough here.
      let visit = nextSemi < end || nextComment < end;
      // The first word after any labels decides.
      let p = start;
      while (!visit) {
        let c = text.charCodeAt(p);
        while (p < end && c < 128 && SPACE[c] === 1) c = text.charCodeAt(++p);
        if (p >= end) break;
        if (c >= 128 || IDENT_START[c] === 0) {
          if (c >= 48 && c <= 57) {
            // Numeric label `1:`.
            do c = text.charCodeAt(++p);
            while (p < end && c >= 48 && c <= 57);
            if (c === 58) {
              p++;
              continue;
            }
          } else if (c === 35 && p === start && text.startsWith("#APP", p) && lineEndsAt(text, p + 4, end)) {
            this.inApp = true; // gcc's exact #APP line: nothing else for the parser to see
            break;
          } else if (c === 35 && p === start && text.startsWith("#NO_APP", p) && lineEndsAt(text, p + 7, end)) {
            this.inApp = false;
            break;
          }
          visit = true; // '#', '%', '{', '/', non-ASCII...: the parser decides
          break;
        }
        const wordStart = p;
        let h = 0;
        let f = FOLDED[c];
        do {
          h = (Math.imul(h, 31) + f) | 0;
          c = text.charCodeAt(++p);
        } while (p < end && c < 128 && (f = FOLDED[c]) !== 0);
        if (p < end && c === 58) {
          p++; // a label; the statement after it decides
          continue;
        }
        if (p < end && (c >= 128 || c === 92 || c === 64)) {
          visit = true; // non-ASCII, macro-template `\` or `@`
          break;
        }
        let i = slot(h);
        let kind = 0;
        while ((kind = kinds[i]) !== 0 && keys[i] !== h) i = (i + 1) & TABLE_MASK;
        if (kind === 0) {
          // `name = expr`: the assignment may name a register (`cr = %cr3`), parsed to find out.
          let q = p;
          while (q < end && (c === 32 || c === 9)) c = text.charCodeAt(++q);
          if (q < end && c === 61) {
            visit = true;
            break;
          }
        }
        if (text.charCodeAt(wordStart) === 46) {
          if (kind === LOC) {
            this.pendingLoc = start;
            this.pendingLocLine = line;
          } else if (kind === BYTES) visit = this.inCode;
          else visit = kind === PARSE || isAfterburnDirective(text, wordStart, p);
        } else if (kind === PARSE) visit = true;
        else if (kind === REG) {
          if (nextRegister < p) nextRegister = this.findRegister(p);
          visit = nextRegister < end;
        }
        break;
      }
      if (visit) {
        this.line = line;
        this.nextSemi = nextSemi;
        this.nextComment = nextComment;
        this.nextRegister = nextRegister;
        this.start = start;
        this.contentEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
        this.following = end + 1;
        return true;
      }
      start = end + 1;
    }
    this.line = line;
    this.nextSemi = nextSemi;
    this.nextComment = nextComment;
    this.nextRegister = nextRegister;
    this.following = n + 1;
    return false;
  }

}

/** Scans text for the lines that matter, or returns undefined when the file needs the full parser. */
export function scanSites(text: string, defaultMode: CodeMode): ScanResult | undefined {
  if (text.indexOf("\r") >= 0 && /\r(?!\n)/.test(text)) return undefined; // the full parser's line breaks differ

  const tables = buildTables();
  const out: ExpandedStatement[] = [];
  const lineStarts = new Map<number, number>();
  const diagnostics: ParseDiagnostic[] = [];
  const n = text.length;
  const lines = new LineFinder(text, tables);

  let mode: CodeMode = defaultMode;
  let section = ".text";
  let previous = ".text";
  const stack: { section: string; previous: string }[] = [];
  let marker: { file: string; line: number; at: number } | undefined;
  let lexState: LexState = LEX_INITIAL;
  // Line text → its parse from the initial lexer state. The parse depends on nothing else but the
  // line number, which only shows in the spans: repeated lines share the first one's statements.
  const parsed = new Map<string, ParsedText>();
  // Instructions an .afterburn_memop directive claims: they are parsed whatever they look like.
  let claimed = 0;
  let bail = false;

  // Claimed lines, lines inside a block comment and continuations of a cpp line are parsed whatever they hold.
  while (claimed > 0 || lexState !== LEX_INITIAL ? lines.step() : lines.next()) {
    if (lines.pendingLoc >= 0) {
      const at = lines.pendingLoc;
      lines.pendingLoc = -1;
      let locEnd = text.indexOf("\n", at);
      if (locEnd < 0) locEnd = n;
      if (locEnd > at && text.charCodeAt(locEnd - 1) === 13) locEnd--;
      visit(at, locEnd, lines.pendingLocLine);
    }
    visit(lines.start, lines.contentEnd, lines.line);
    if (bail) return undefined;
  }
  return { statements: out, lineStarts, diagnostics };

  function visit(start: number, end: number, at: number): void {
    const lineText = text.slice(start, end);
    let statements: readonly Statement[];
    if (lexState === LEX_INITIAL) {
      let hit = parsed.get(lineText);
      if (hit === undefined) {
        if (isPlainLineMarker(lineText)) {
          // gcc's `# 12 "file.c" 1`: what the parser would make of it, without parsing.
          hit = { marker: parseLineMarker(lineText.slice(2), false) ?? null, statements: NO_STATEMENTS, state: LEX_INITIAL, diagnostics: NO_DIAGNOSTICS };
        } else {
          const r = parseLine(lineText, at, LEX_INITIAL);
          hit = { marker: undefined, statements: r.parsed.statements, state: r.state, diagnostics: r.parsed.diagnostics };
        }
        parsed.set(lineText, hit);
      }
      if (hit.marker !== undefined) {
        markerFrom(hit.marker ?? undefined, at);
        return;
      }
      for (const d of hit.diagnostics) diagnostics.push(d.span.line === at ? d : { ...d, span: { ...d.span, line: at } });
      statements = hit.statements;
      lexState = hit.state;
    } else {
      const r = parseLine(lineText, at, lexState);
      for (const d of r.parsed.diagnostics) diagnostics.push(d);
      statements = r.parsed.statements;
      lexState = r.state;
    }
    const origin: SourceOrigin | undefined = marker ? { file: marker.file, line: marker.line + (at - marker.at - 1) } : undefined;
    let recorded = false;
    for (const st of statements) {
      if (st.kind === "preprocessor") {
        if (FULL_PARSE_CPP.has(st.directive)) {
          bail = true;
          return;
        }
        if (st.directive === "app") lines.inApp = true;
        else if (st.directive === "no_app") lines.inApp = false;
        else if (st.directive === "line-marker" || st.directive === "line") markerFrom(parseLineMarker(st.args, st.directive === "line"), at);
        continue;
      }
      if (st.kind === "assignment" && namesRegister(st.expr)) {
        bail = true;
        return;
      }
      if (st.kind !== "instruction" && st.kind !== "directive") continue;
      if (st.kind === "directive" && (FULL_PARSE_DIRECTIVES.has(st.name) || (SYMBOL_DIRECTIVES.has(st.name) && namesRegister(st.argList[1] ?? "")))) {
        bail = true;
        return;
      }
      out.push(expandedStatement(st, at, mode, section, origin, lines.inApp));
      if (!recorded) {
        lineStarts.set(at, start);
        recorded = true;
      }
      if (st.kind === "instruction") {
        if (claimed > 0) claimed--;
        // the instruction a lone prefix belongs to is parsed wherever it is written
        if (isPrefixOnly(st)) claimed = Math.max(claimed, 1);
        continue;
      }
      // The directive's own statement carries the state before it, as in the full parser.
      switch (st.name) {
        case ".afterburn_memop":
          // Up to 8 instructions, whatever the arguments say: a malformed directive leaves an earlier claim standing.
          claimed = 8;
          break;
        case ".code16":
        case ".code16gcc":
          mode = 16;
          break;
        case ".code32":
          mode = 32;
          break;
        case ".code64":
          mode = 64;
          break;
        case ".text":
        case ".data":
        case ".bss":
          switchSection(st.name);
          break;
        case ".section": {
          const name = stripQuotes(st.argList[0] ?? "");
          if (name.length > 0) switchSection(name);
          break;
        }
        case ".pushsection": {
          const name = stripQuotes(st.argList[0] ?? "");
          if (name.length > 0) {
            stack.push({ section, previous });
            switchSection(name);
          }
          break;
        }
        case ".popsection": {
          const top = stack.pop();
          if (top) ({ section, previous } = top);
          lines.inCode = isCodeSection(section);
          break;
        }
        case ".previous":
          [section, previous] = [previous, section];
          lines.inCode = isCodeSection(section);
          break;
      }
    }
  }

  function markerFrom(lm: { line: number; file?: string } | undefined, at: number): void {
    if (lm?.file !== undefined) marker = lm.file.length > 0 ? { file: lm.file, line: lm.line, at } : undefined;
    else if (lm && marker) marker = { file: marker.file, line: lm.line, at };
  }

  function switchSection(name: string): void {
    if (name !== section) {
      previous = section;
      section = name;
    }
    lines.inCode = isCodeSection(section);
  }
}

/** Exactly `# digits "name"` plus ` digits` flags: no escapes, comments or continuation for the parser to resolve. */
function isPlainLineMarker(line: string): boolean {
  const end = line.length;
  if (end < 5 || line.charCodeAt(0) !== 35 || line.charCodeAt(1) !== 32) return false;
  let p = skipDigits(line, 2, end);
  if (p === 2 || line.charCodeAt(p) !== 32 || line.charCodeAt(p + 1) !== 34) return false;
  for (p += 2; p < end && line.charCodeAt(p) !== 34; p++) if (line.charCodeAt(p) === 92) return false;
  if (p >= end) return false;
  p++;
  while (p < end) {
    if (line.charCodeAt(p) !== 32) return false;
    const q = skipDigits(line, p + 1, end);
    if (q === p + 1) return false;
    p = q;
  }
  return true;
}

function skipDigits(s: string, p: number, end: number): number {
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c < 48 || c > 57) break;
    p++;
  }
  return p;
}

/** A symbol's value that is a register (`%cr3`): instructions naming the symbol use the register. */
export function namesRegister(value: string): boolean {
  return value.trimStart().startsWith("%");
}

/** `.afterburn_*` (any case): the afterburner's own directives. */
function isAfterburnDirective(text: string, a: number, b: number): boolean {
  const want = ".afterburn";
  if (b - a < want.length) return false;
  for (let i = 0; i < want.length; i++) if (foldCase(text.charCodeAt(a + i)) !== want.charCodeAt(i)) return false;
  return true;
}

function stripQuotes(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 34 && s.charCodeAt(s.length - 1) === 34 ? s.slice(1, -1) : s;
}
