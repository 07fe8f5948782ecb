// Local headers of a .S file: `#include "x.h"`, `#include <x.h>` and `.include "x.inc"` resolved against
// the file's folder and the include folders, read once per modification time. What the analysis takes from
// them: their #defines and their .macro definitions (so invocations in the file expand as the build does).

import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { collectDefines, type DefineTable } from "./defines.js";
import { splitLines } from "./parse.js";

export interface IncludeReference {
  /** 0-based line of the directive in the including file. */
  line: number;
  start: number;
  end: number;
  /** As written, without quotes/brackets. */
  name: string;
  kind: "cpp" | "gas";
  /** Resolved absolute path, when found. */
  path?: string;
}

export interface HeaderMacroLine {
  text: string;
  file: string;
  /** 0-based line in `file`. */
  line: number;
}

export interface IncludeSet {
  includes: IncludeReference[];
  defines: DefineTable;
  /** `.macro` … `.endm` blocks from the headers, in include order, each line with where it came from. */
  macroLines: HeaderMacroLine[];
  /** Every header read (absolute paths), for invalidation and workspace navigation. */
  files: string[];
}

const MAX_DEPTH = 8;
const MAX_HEADER_BYTES = 4 << 20;

const cache = new Map<string, { mtimeMs: number; lines: string[] }>();

/** The lines of a header (cached by modification time), or undefined when it cannot be read. */
export function readHeader(path: string): string[] | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_HEADER_BYTES) return undefined;
    const hit = cache.get(path);
    if (hit !== undefined && hit.mtimeMs === st.mtimeMs) return hit.lines;
    const lines = splitLines(readFileSync(path, "utf8"));
    cache.set(path, { mtimeMs: st.mtimeMs, lines });
    return lines;
  } catch {
    return undefined;
  }
}

const INCLUDE_RE = /^\s*(?:#\s*include\s*(?:"([^"]+)"|<([^>]+)>)|\.include\s+"([^"]+)")/;

/** The include directives of a file's lines. */
export function findIncludes(lines: readonly string[]): IncludeReference[] {
  const out: IncludeReference[] = [];
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i];
    if (t.indexOf("include") < 0) continue;
    const m = INCLUDE_RE.exec(t);
    if (m === null) continue;
    const name = m[1] ?? m[2] ?? m[3];
    const start = t.indexOf(name, m.index);
    out.push({ line: i, start, end: start + name.length, name, kind: m[3] !== undefined ? "gas" : "cpp" });
  }
  return out;
}

/** Resolves an include name against the including file's folder, then the include folders. */
export function resolveInclude(name: string, fromFile: string | undefined, includeDirs: readonly string[]): string | undefined {
  const candidates: string[] = [];
  if (isAbsolute(name)) candidates.push(name);
  else {
    if (fromFile !== undefined) candidates.push(join(dirname(fromFile), name));
    for (const d of includeDirs) candidates.push(resolve(d, name));
  }
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // not there: try the next folder
    }
  }
  return undefined;
}

/**
 * Reads the headers a file includes (recursively) and gathers their defines and macros. `gasOnly`: a
 * file GNU as reads without cpp, where `#include` is a comment and only `.include` (and its macros) count.
 */
export function gatherIncludes(lines: readonly string[], fileName: string | undefined, includeDirs: readonly string[], gasOnly = false): IncludeSet {
  const refsOf = (ls: readonly string[]) => (gasOnly ? findIncludes(ls).filter((r) => r.kind === "gas") : findIncludes(ls));
  const set: IncludeSet = { includes: refsOf(lines), defines: new Map(), macroLines: [], files: [] };
  const seen = new Set<string>();
  const visit = (refs: IncludeReference[], from: string | undefined, depth: number) => {
    for (const ref of refs) {
      const path = resolveInclude(ref.name, from, includeDirs);
      if (path === undefined) continue;
      if (depth === 0) ref.path = path;
      if (seen.has(path) || depth >= MAX_DEPTH) continue;
      seen.add(path);
      const header = readHeader(path);
      if (header === undefined) continue;
      set.files.push(path);
      visit(refsOf(header), path, depth + 1);
      if (!gasOnly) collectDefines(header, path, set.defines);
      collectMacros(header, path, set.macroLines);
    }
  };
  visit(set.includes, fileName, 0);
  return set;
}

/** `.macro` … `.endm` blocks of a header (outside them a header's lines are not analysed). */
function collectMacros(lines: readonly string[], file: string, out: HeaderMacroLine[]): void {
  let depth = 0;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i];
    const open = /^\s*\.macro\b/i.test(t);
    const close = /^\s*\.endm(acro)?\b/i.test(t);
    if (open) depth++;
    if (depth > 0) out.push({ text: t, file, line: i });
    if (close && depth > 0) depth--;
  }
}
