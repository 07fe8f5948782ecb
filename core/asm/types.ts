// The parsed form of GNU as (AT&T) source. Shared by core/isa (classification), core/burn
// (the transform), the language server and the tests. Positions are 0-based lines and
// 0-based UTF-16 columns, end exclusive, so they map 1:1 onto LSP ranges.

export interface Span {
  line: number;
  start: number;
  end: number;
}

/** Where a statement came from when it is the product of a macro, .rept or .irp expansion. */
export interface ExpansionOrigin {
  /** "macro" for a .macro invocation, "rept"/"irp"/"irpc" for the loop directives. */
  kind: "macro" | "rept" | "irp" | "irpc";
  /** Macro name (for kind "macro"). */
  name?: string;
  /** The invocation (or the .rept line) in the file being parsed. */
  site: Span;
  /** The body line the statement was expanded from (inside the .macro/.rept body). */
  bodyLine: number;
  /** Enclosing expansion when macros nest. */
  parent?: ExpansionOrigin;
}

/** A source position outside the parsed text, from a cpp / gcc line marker (`# 12 "file.c" 1`). */
export interface SourceOrigin {
  file: string;
  line: number; // 1-based, as the marker says
}

export type Register = string; // lower case, without '%': "eax", "cr3", "ds", "st(1)"

export interface RegisterOperand {
  kind: "reg";
  reg: Register;
  span: Span;
  /** `*%eax` (indirect jump/call through a register). */
  indirect: boolean;
}

export interface ImmediateOperand {
  kind: "imm";
  /** Expression text after '$', trimmed. */
  text: string;
  /** Value when the expression is a plain constant expression (no symbols). */
  value?: number;
  span: Span;
}

export interface MemoryOperand {
  kind: "mem";
  /** Segment override written in the operand (`%fs:4(%eax)` → "fs"). An override never makes an instruction sensitive. */
  segment?: Register;
  /** Displacement expression text ("" when absent), e.g. "4", "foo+8", ".L3". */
  disp: string;
  /** Value of disp when it is a constant expression. */
  dispValue?: number;
  base?: Register;
  index?: Register;
  scale?: number;
  span: Span;
  /** `*4(%eax)` or `*foo` (indirect jump/call through memory). */
  indirect: boolean;
  /**
   * True when the operand is a bare expression with no register part and no '*' (e.g. `jmp foo`,
   * `movl foo, %eax`, `ljmp $8, $1f` second part excluded). For branches this is the direct target.
   */
  bare: boolean;
}

export type Operand = RegisterOperand | ImmediateOperand | MemoryOperand;

export interface Prefix {
  /** Lower case: "lock", "rep", "repe", "repz", "repne", "repnz", "data16", "data32", "addr16", "addr32", "cs", "ds", ... */
  name: string;
  span: Span;
}

export interface InstructionStatement {
  kind: "instruction";
  prefixes: Prefix[];
  /** Mnemonic in lower case exactly as written (suffix included): "movl", "popfl", "ljmp". */
  mnemonic: string;
  mnemonicSpan: Span;
  operands: Operand[];
  /** The whole statement, prefixes through last operand. */
  span: Span;
  /** Raw text of the statement (prefixes + mnemonic + operands) as written. */
  text: string;
}

export interface LabelStatement {
  kind: "label";
  /** "foo", ".L3", or a numeric local label "1". */
  name: string;
  numeric: boolean;
  /** Written `"name":` (GNU as 2.26+ quoted symbol names); `name` is the symbol, quotes and escapes removed. */
  quoted?: boolean;
  span: Span;
}

export interface DirectiveStatement {
  kind: "directive";
  /** Lower case with the dot: ".section", ".long", ".macro", ".afterburn_noannotate". */
  name: string;
  nameSpan: Span;
  /** Raw argument text, trimmed. */
  args: string;
  /** Arguments split at top-level commas, trimmed. */
  argList: string[];
  span: Span;
}

export interface AssignmentStatement {
  kind: "assignment";
  /** `x = expr` or `x == expr`. */
  name: string;
  expr: string;
  span: Span;
}

/** A C preprocessor line in a .S file (`#include`, `#define`, `#if`...) or a gcc line marker. */
export interface PreprocessorStatement {
  kind: "preprocessor";
  /** "include", "define", "undef", "if", "ifdef", "ifndef", "elif", "else", "endif", "error", "pragma", "line-marker", ... */
  directive: string;
  args: string;
  span: Span;
}

export type Statement =
  | InstructionStatement
  | LabelStatement
  | DirectiveStatement
  | AssignmentStatement
  | PreprocessorStatement;

export interface ParseDiagnostic {
  span: Span;
  message: string;
  severity: "error" | "warning" | "info";
}

/** Everything the parser knows about one physical source line. */
export interface ParsedLine {
  /** Statements on this line in order (`;` separates several). */
  statements: Statement[];
  diagnostics: ParseDiagnostic[];
  /** Set when the line lies inside a gcc `#APP` … `#NO_APP` block (inline asm from C). */
  inApp?: boolean;
  /** Original C/.S source position when line markers precede this line. */
  origin?: SourceOrigin;
  /** Set when the line lies in a cpp branch known to be false (`#if 0`); it is not analysed. */
  skipped?: boolean;
  /** Set when the line is part of a `.macro` or `.rept`/`.irp`/`.irpc` body (a template, analysed through its expansions). */
  template?: boolean;
}

/** A statement after macro/.rept/.irp expansion, with where it came from. */
export interface ExpandedStatement {
  statement: Statement;
  /** The line in the parsed file that the statement is reported against (the invocation for expansions). */
  line: number;
  expansion?: ExpansionOrigin;
  /** C/.S source from line markers, if any. */
  origin?: SourceOrigin;
  inApp?: boolean;
  /** Code size in force (.code16/.code32/.code64, else the parse option). */
  mode: CodeMode;
  /** Current section name (".text", ".data", ".text.startup"...). */
  section: string;
  /**
   * For expanded statements whose body line was changed by substitution (`\arg`, `\@`...):
   * the expanded text of that line. The statement's spans index into this text (their `line`
   * is the body line). Absent when the spans index into the source line itself.
   */
  text?: string;
}

export type CodeMode = 16 | 32 | 64;

// ---- Additions by core/asm (additive; existing fields above are unchanged) ----

/**
 * Lexer state carried from one physical line to the next. Only an open `/* … *\/` comment
 * and a backslash-continued cpp directive cross a line boundary; everything else (origin, #APP, sections) is derived afterwards so
 * that an edit re-lexes as few lines as possible. Compare states with `===`: the parser only
 * ever hands out the four frozen singletons made by `lexState()` (LEX_INITIAL is the start).
 */
export interface LexState {
  readonly inBlockComment: boolean;
  /** The previous line was a cpp directive ending in a backslash: this line continues it. */
  readonly inPreprocessorContinuation: boolean;
}

export interface MacroParameter {
  name: string;
  /** `arg=val`: text used when the invocation omits the argument. */
  defaultValue?: string;
  /** `arg:req`. */
  required: boolean;
  /** `arg:vararg`: receives the rest of the argument list. */
  vararg: boolean;
}

/** A `.macro` definition: its body is kept as source text and re-parsed on each expansion. */
export interface MacroDefinition {
  /** Lower case (GNU as looks macro names up case-insensitively). */
  name: string;
  params: MacroParameter[];
  /** Body lines between `.macro` and `.endm`, with their line numbers in the file. */
  body: { text: string; line: number }[];
  /** The `.macro` directive. */
  span: Span;
  /** Line of the matching `.endm` (or the last line when it is missing). */
  endLine: number;
}

/** A label definition after expansion. Numeric labels (`1:`) can be defined many times. */
export interface LabelDefinition {
  name: string;
  numeric: boolean;
  span: Span;
  /** Line reported against (the invocation line for labels made by an expansion). */
  line: number;
  section: string;
  expansion?: ExpansionOrigin;
}

/** `x = expr`, `.set x, expr`, `.equ x, expr`. */
export interface SymbolDefinition {
  name: string;
  expr: string;
  /** Constant value when the expression (with earlier symbols) is constant. */
  value?: number;
  line: number;
  span: Span;
}

export interface ParseOptions {
  /** Code size before any `.code16/.code32/.code64` (default 32). */
  mode?: CodeMode;
  /** Used for messages and to decide whether cpp conditionals are honoured (`.s` files are not preprocessed). */
  fileName?: string;
  /** The text is cpp's output (or never sees cpp): `#if` lines are comments, whatever the file name. */
  preprocessed?: boolean;
}

export interface AsmFile {
  lines: ParsedLine[];
  /** Statements after expansion, in assembly order. Macro definition bodies and lines in false `#if` branches are not included. */
  statements: ExpandedStatement[];
  /** Line diagnostics (outside macro templates and false `#if` branches) plus expansion diagnostics. */
  diagnostics: ParseDiagnostic[];
  macros: Map<string, MacroDefinition>;
  /** Label name → its definitions in order (several for numeric labels or duplicates). */
  labels: Map<string, LabelDefinition[]>;
  symbols: Map<string, SymbolDefinition>;
}
