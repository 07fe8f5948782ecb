// Breakpoints on the lines of a `.macro` body. GNU as gives every instruction a macro call makes the
// line of the call, so the line table has no rows for body lines: a breakpoint there would move to
// the next line with code, which can be anywhere (often the first instruction after the definition,
// before the macro is ever used). Stopping where the macro is used is what the user asked for.

import { parseAsm, type AsmFile, type ExpansionOrigin } from "../core/asm/index.js";

export interface MacroUses {
  /** The macro whose body holds the line, as written in its `.macro` line. */
  name: string;
  /** 0-based lines of the file where what the body line makes is assembled (outermost calls), ascending. */
  lines: number[];
}

/** Whether a source of this name is GNU as assembly (its `.macro` bodies are worth looking for). */
export function isAssemblySource(path: string): boolean {
  return /\.(?:s|S|asm|inc)$/.test(path);
}

/**
 * When 0-based `line` of `text` lies in a `.macro` … `.endm` of the file itself: the macro and the
 * lines of the calls that assemble that body line (every call of the macro when the line makes
 * nothing itself: a comment, a blank, the `.macro` line). Undefined outside macro bodies.
 */
export function macroUsesAt(text: string, fileName: string, line: number): MacroUses | undefined {
  let file: AsmFile;
  try {
    file = parseAsm(text, { fileName });
  } catch {
    return undefined; // the parser does not throw; a debugger request must not fail if it ever did
  }
  let macro: { name: string; line: number } | undefined;
  for (const m of file.macros.values()) {
    if (m.span.line <= line && line <= m.endLine && (macro === undefined || m.span.line > macro.line)) macro = { name: m.name, line: m.span.line };
  }
  if (macro === undefined) return undefined;
  const name = macro.name;
  const fromLine = new Set<number>();
  const fromMacro = new Set<number>();
  for (const es of file.statements) {
    let ofMacro = false;
    let ofLine = false;
    for (let o: ExpansionOrigin | undefined = es.expansion; o !== undefined; o = o.parent) {
      if (o.kind === "macro" && o.name === name) ofMacro = true;
      // A body line: an instruction on it (bodyLine), or a call of another macro made from it (site).
      if (o.bodyLine === line || (o.parent !== undefined && o.site.line === line)) ofLine = true;
    }
    if (ofMacro) fromMacro.add(es.line);
    if (ofMacro && ofLine) fromLine.add(es.line);
  }
  const lines = [...(fromLine.size > 0 ? fromLine : fromMacro)].sort((a, b) => a - b);
  const header = text.split("\n", macro.line + 1)[macro.line] ?? "";
  const written = /\.macro\s+([^\s,]+)/i.exec(header)?.[1] ?? name;
  return { name: written, lines };
}
