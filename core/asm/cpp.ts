// The file-level pass over cpp lines: gcc line markers set `origin`, #APP/#NO_APP set `inApp`,
// and cpp conditionals known to be false (#if 0, #ifdef of a name #undef'd here...) mark lines `skipped`.
// A condition that depends on something outside the file is treated as true: every branch is analysed.

import type { ParseDiagnostic, ParsedLine, PreprocessorStatement, SourceOrigin } from "./types.js";
import * as expressionModule from "./expression.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { analyseExpression } = expressionModule;
import * as operandsModule from "./operands.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { skipString } = operandsModule;

export type Truth = 0 | 1 | 2; // false, true, unknown

interface Conditional {
  /** Truth of the branch being read. */
  branch: Truth;
  /** Some earlier branch was (or may have been) taken. */
  taken: Truth;
  /** The enclosing region is being skipped. */
  parentSkipped: boolean;
  line: number;
  sawElse: boolean;
}

export interface CppResult {
  diagnostics: ParseDiagnostic[];
  /** Object-like #defines with a constant value, for operand analysis. */
  defines: Map<string, number>;
}

export function parseLineMarker(args: string, isLineDirective: boolean): { line: number; file?: string } | undefined {
  let i = 0;
  while (i < args.length && args.charCodeAt(i) >= 48 && args.charCodeAt(i) <= 57) i++;
  if (i === 0) return undefined;
  const line = Number(args.slice(0, i));
  while (i < args.length && (args[i] === " " || args[i] === "\t")) i++;
  if (args[i] !== '"') return isLineDirective || i >= args.length ? { line } : undefined;
  const j = skipString(args, i, args.length);
  if (j < 0) return undefined;
  return { line, file: unescapeCString(args.slice(i + 1, j - 1)) };
}

function unescapeCString(s: string): string {
  if (s.indexOf("\\") < 0) return s;
  return s.replace(/\\(.)/g, "$1");
}

/** The value of a constant cpp expression (a #define's body), with C's integer suffixes; undefined when not constant here. */
export function constantValue(text: string, defines: ReadonlyMap<string, number>): number | undefined {
  return analyseExpression(text.replace(/(\d+)[uUlL]+\b/g, "$1"), defines).value;
}

/** A #if / #elif condition: 1 or 0 when the names it uses are known here, else 2 (unknown). */
export function evaluateCondition(expr: string, defined: ReadonlyMap<string, boolean>, defines: ReadonlyMap<string, number>): Truth {
  // defined(X) / defined X → 1 or 0 when known here, else unknown.
  let unknown = false;
  const replaced = expr.replace(/\bdefined\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? "";
    const d = defined.get(name);
    if (d === undefined) {
      unknown = true;
      return "0";
    }
    return d ? "1" : "0";
  });
  // cpp's && / || / ! / comparisons differ from gas (true is 1), but only truthiness matters here.
  const value = constantValue(replaced, defines);
  if (unknown || value === undefined) return 2;
  return value !== 0 ? 1 : 0;
}

/**
 * The truth of an #elif/#else branch: `taken` says whether an earlier branch of its #if was (or may
 * have been) taken, `condition` is the #elif's own (undefined for #else).
 */
export function alternativeTruth(taken: Truth, condition: Truth | undefined): Truth {
  if (condition === undefined) return not(taken);
  if (taken === 1) return 0;
  return taken === 2 && condition !== 0 ? 2 : condition;
}

/** What an #if's `taken` becomes once one of its branches reads as `branch`. */
export function takenAfter(taken: Truth, branch: Truth): Truth {
  return branch === 1 ? 1 : branch === 2 && taken !== 1 ? 2 : taken;
}

/** The truth of `#ifdef X` / `#ifndef X` (and the #elif forms) from what is known of X. */
export function definedTruth(directive: string, args: string, defined: ReadonlyMap<string, boolean>): Truth {
  const d = defined.get(args.trim().split(/\s/)[0] ?? "");
  return d === undefined ? 2 : d === (directive === "ifdef" || directive === "elifdef") ? 1 : 0;
}

function not(t: Truth): Truth {
  return t === 2 ? 2 : t === 1 ? 0 : 1;
}

/**
 * Macros the compiler of an x86 ELF target never predefines, whatever its flags: other operating
 * systems' and other architectures'. Files shared across targets test them (`#ifdef __APPLE__` around
 * Mach-O's spelling of a macro); reading both branches made duplicate labels and false errors.
 */
export const OTHER_TARGETS: readonly string[] = [
  "__APPLE__", "__MACH__", "_WIN32", "_WIN64", "__CYGWIN__", "__MINGW32__", "__MINGW64__", "__aarch64__", "__arm__", "__thumb__",
  "__powerpc__", "__powerpc64__", "__ppc__", "__PPC__", "__mips__", "__riscv", "__sparc__", "__ia64__", "__s390__", "__s390x__",
  "__loongarch__", "__alpha__", "__hppa__", "__m68k__",
];

/**
 * What cpp knows of a .S file before its first line: it preprocesses assembly (gcc defines
 * __ASSEMBLER__ then; kernel builds such as Linux's and Xen's pass -D__ASSEMBLY__, the name their
 * headers test, and no build defines it for C), and for no other target. Everything else stays
 * unknown: -D flags can say.
 */
export function knownBeforeFirstLine(defined: Map<string, boolean>, values: Map<string, number>): void {
  for (const n of ["__ASSEMBLER__", "__ASSEMBLY__"]) {
    defined.set(n, true);
    values.set(n, 1);
  }
  for (const n of OTHER_TARGETS) defined.set(n, false);
}

/** Sets origin / inApp / skipped on every line (clearing stale values) and checks cpp conditional nesting. */
export function applyPreprocessor(lines: ParsedLine[], honourConditionals: boolean): CppResult {
  const diagnostics: ParseDiagnostic[] = [];
  const defines = new Map<string, number>();
  const defined = new Map<string, boolean>();
  knownBeforeFirstLine(defined, defines);
  const stack: Conditional[] = [];
  let skipping = false;
  let inApp = false;
  let originFile: string | undefined;
  let originLine = 0;

  for (let i = 0; i < lines.length; i++) {
    const pl = lines[i];
    // Assigned, never deleted, so ParsedLine objects keep one shape.
    pl.origin = originFile !== undefined ? ({ file: originFile, line: originLine } satisfies SourceOrigin) : undefined;
    originLine++;
    pl.inApp = inApp ? true : undefined;
    pl.skipped = skipping ? true : undefined;
    pl.template = undefined;

    const st = pl.statements;
    if (st.length !== 1 || st[0].kind !== "preprocessor") continue;
    const pp = st[0] as PreprocessorStatement;
    switch (pp.directive) {
      case "line-marker":
      case "line": {
        if (skipping) break;
        const m = parseLineMarker(pp.args, pp.directive === "line");
        if (m === undefined) {
          // `# 80x25 mode` is a comment to cpp (assembler mode) and to GNU as alike; only `#line` must be well formed.
          if (pp.directive === "line") diagnostics.push({ span: pp.span, message: `malformed line marker '${pp.args}'`, severity: "warning" });
          break;
        }
        if (m.file !== undefined) originFile = m.file.length > 0 ? m.file : undefined;
        originLine = m.line;
        if (m.file === undefined && originFile === undefined) originLine = 0;
        break;
      }
      case "app":
        if (!skipping) inApp = true;
        break;
      case "no_app":
        if (!skipping) inApp = false;
        break;
      case "define":
      case "undef": {
        if (skipping || !honourConditionals) break;
        const m = /^([A-Za-z_]\w*)(\()?\s*(.*)$/.exec(pp.args);
        if (m === null) {
          diagnostics.push({ span: pp.span, message: `#${pp.directive} needs a macro name`, severity: "error" });
          break;
        }
        if (pp.directive === "undef") {
          defined.set(m[1], false);
          defines.delete(m[1]);
        } else {
          defined.set(m[1], true);
          if (m[2] === undefined) {
            const v = constantValue(m[3], defines);
            if (v !== undefined) defines.set(m[1], v);
            else defines.delete(m[1]);
          }
        }
        break;
      }
      case "if":
      case "ifdef":
      case "ifndef": {
        if (!honourConditionals) break;
        let t: Truth;
        if (skipping) t = 0;
        else if (pp.directive === "if") t = evaluateCondition(pp.args, defined, defines);
        else t = definedTruth(pp.directive, pp.args, defined);
        stack.push({ branch: t, taken: t, parentSkipped: skipping, line: i, sawElse: false });
        skipping = skipping || t === 0;
        break;
      }
      case "elif":
      case "elifdef":
      case "elifndef":
      case "else": {
        if (!honourConditionals) break;
        const top = stack[stack.length - 1];
        if (top === undefined) {
          diagnostics.push({ span: pp.span, message: `#${pp.directive} without #if`, severity: "error" });
          break;
        }
        if (top.sawElse) diagnostics.push({ span: pp.span, message: `#${pp.directive} after #else`, severity: "error" });
        if (pp.directive === "else") top.sawElse = true;
        const condition = pp.directive === "else" || top.taken === 1 ? undefined : pp.directive === "elif" ? evaluateCondition(pp.args, defined, defines) : definedTruth(pp.directive, pp.args, defined);
        const t = pp.directive !== "else" && top.taken === 1 ? 0 : alternativeTruth(top.taken, condition);
        top.branch = t;
        top.taken = takenAfter(top.taken, t);
        skipping = top.parentSkipped || t === 0;
        pl.skipped = top.parentSkipped ? true : undefined;
        break;
      }
      case "endif": {
        if (!honourConditionals) break;
        const top = stack.pop();
        if (top === undefined) {
          diagnostics.push({ span: pp.span, message: "#endif without #if", severity: "error" });
          break;
        }
        skipping = top.parentSkipped;
        if (!skipping) pl.skipped = undefined;
        break;
      }
      case "error":
        if (!skipping && honourConditionals && stack.every((c) => c.branch === 1)) {
          diagnostics.push({ span: pp.span, message: `#error ${pp.args}`, severity: "error" });
        }
        break;
    }
  }
  for (const c of stack) {
    const st = lines[c.line].statements[0];
    diagnostics.push({ span: st.span, message: "unterminated conditional: missing #endif", severity: "error" });
  }
  return { diagnostics, defines };
}
