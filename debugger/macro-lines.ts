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
  // The innermost `.macro` … `.endm` holding the line, by position: a macro purged and defined again
  // is two blocks of one name, and each body line is told apart by its own line, not by the name.
  const open: number[] = [];
  let block: { start: number; end: number } | undefined;
  file.lines.forEach((pl, k) => {
    for (const st of pl.statements) {
      if (st.kind !== "directive") continue;
      if (st.name === ".macro") open.push(k);
      else if ((st.name === ".endm" || st.name === ".endmacro") && open.length > 0) {
        const start = open.pop()!;
        if (start <= line && line <= k && (block === undefined || start > block.start)) block = { start, end: k };
      }
    }
  });
  if (block === undefined) return undefined;
  const { start, end } = block;
  const inBody = (l: number) => start < l && l < end;
  const fromLine = new Set<number>();
  const fromBlock = new Set<number>();
  for (const es of file.statements) {
    for (let o: ExpansionOrigin | undefined = es.expansion; o !== undefined; o = o.parent) {
      // A body line: an instruction on it (bodyLine), or a call of another macro made from it (site).
      const nested = o.parent !== undefined;
      if (o.bodyLine === line || (nested && o.site.line === line)) fromLine.add(es.line);
      if ((o.kind === "macro" && inBody(o.bodyLine)) || (nested && inBody(o.site.line))) fromBlock.add(es.line);
    }
  }
  const lines = [...(fromLine.size > 0 && line !== start && line !== end ? fromLine : fromBlock)].sort((a, b) => a - b);
  const header = text.split("\n", start + 1)[start] ?? "";
  return { name: /\.macro\s+([^\s,]+)/i.exec(header)?.[1] ?? "?", lines };
}
