// `.include "file"` is read by GNU as, after the preprocessor and after the afterburner: the included
// file's instructions (and the macros an including file calls) were never seen, so their sensitive
// instructions went unannotated. The afterburner's input is flattened first, as GNU as would read it:
// each `.include` line becomes the file's text between line markers, so messages and -g line info
// still name the included file and, after it, the including one. GNU as looks for the file in the
// current directory, then in its -I folders (not in the including file's folder); so does this.

import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { LEX_INITIAL, parseLine } from "../asm/line.js";
import type { LexState } from "../asm/types.js";
import { prepareAfterburn, RECORD_SECTION_OPEN, type BurnOptions, type PreparedBurn } from "./afterburn.js";

export interface IncludeOptions {
  /** The input's name, as markers and messages give it. */
  fileName: string;
  /** as's -I folders, in order (searched after the current directory). */
  searchDirs?: readonly string[];
  /** The folder relative names are resolved from (GNU as: its current directory). */
  cwd?: string;
  /** How included files are read: "latin1" keeps every byte as one character (for an input given as bytes). */
  encoding?: "utf8" | "latin1";
}

export interface IncludeProblem {
  file: string;
  /** 1-based. */
  line: number;
  message: string;
}

/** A line's place before flattening: the file it is in (as found) and its 1-based line there. */
export interface LineOrigin {
  file: string;
  line: number;
}

export interface Flattened {
  text: string;
  /** For each line of `text` (index = line - 1): where it is. The markers added stand at their .include line. */
  origins: LineOrigin[];
  /** For each line of `text`: the 1-based line of the input it stands for (an included file's lines: the `.include` line's). */
  top: number[];
  /** Files read, in order (their paths as found). */
  files: string[];
  problems: IncludeProblem[];
}

/** Nesting GNU as allows is bounded by its open files; this bounds runaway self-inclusion. */
const MAX_DEPTH = 32;
const MAX_FILE_BYTES = 64 << 20;

// A trailing `#` or `/* */` comment is allowed; `//` is not a comment to GNU as on x86 (it is junk there).
const INCLUDE_LINE = /^[ \t]*\.include[ \t]+"([^"]*)"[ \t]*(?:(?:#|\/\*).*)?$/i;
const LOOP_OPEN = /^[ \t]*(?:[A-Za-z_.$][\w.$]*:[ \t]*)*\.(?:rept|irpc?)\b/i;
const LOOP_CLOSE = /^[ \t]*\.endr\b/i;
const LINE_MARKER = /^#[ \t]*(\d+)[ \t]+"((?:[^"\\]|\\.)*)"/;
const MACRO_OPEN = /^[ \t]*(?:[A-Za-z_.$][\w.$]*:[ \t]*)*\.macro\b/i;
const MACRO_CLOSE = /^[ \t]*\.endm(?:acro)?\b/i;

/** Whether the text has an `.include` at all (the cheap test before flattening). */
export function mayInclude(text: string): boolean {
  return /\.include[ \t]/i.test(text);
}

/**
 * The text with every `.include "file"` that can be found replaced by the file's (flattened) text
 * between line markers; undefined when there is no `.include` line to replace. An `.include` inside a
 * `.macro` body stays (it is read at each expansion, with the macro's arguments), as does one whose
 * file is not found (GNU as will say so) — the afterburner then warns that its instructions are unseen.
 */
export function flattenIncludes(text: string, options: IncludeOptions): Flattened | undefined {
  if (!mayInclude(text)) return undefined;
  const out: Flat = { lines: [], origins: [], top: [], files: [], problems: [], changed: false };
  flatten(text, options.fileName, options, out, 0, new Set());
  return out.changed ? { text: out.lines.join("\n"), origins: out.origins, top: out.top, files: out.files, problems: out.problems } : undefined;
}

interface Flat {
  lines: string[];
  origins: LineOrigin[];
  top: number[];
  files: string[];
  problems: IncludeProblem[];
  changed: boolean;
}

function flatten(text: string, fileName: string, options: IncludeOptions, out: Flat, depth: number, open: Set<string>, topLine = 0): void {
  const lines = text.split("\n");
  // The file's last line break ends its last line: no empty line after it in the flattened text.
  if (depth > 0 && lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  // Where the next line is, as markers tell it (cpp output carries them; a plain file starts at line 1).
  let presumedFile = fileName;
  let presumedLine = 1;
  let macroDepth = 0;
  let loopDepth = 0;
  // A marker inside a loop body is read at each iteration, not after .endr: the line after it needs its own.
  let resyncAfterLoop = false;
  // The parser's own lexer state says where a /* comment */ runs across lines.
  let lex: LexState = LEX_INITIAL;
  for (let i = 0; i < lines.length; i++, presumedLine++) {
    const raw = lines[i]!;
    const here: LineOrigin = { file: fileName, line: i + 1 };
    const top = depth === 0 ? i + 1 : topLine;
    const keep = (text = raw) => push(text);
    function push(text: string): void {
      out.lines.push(text);
      out.origins.push(here);
      out.top.push(top);
    }
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const commented = lex.inBlockComment;
    lex = parseLine(line, i, lex).state;
    const marker = commented ? null : LINE_MARKER.exec(line);
    if (marker !== null) {
      presumedFile = marker[2]!.replace(/\\(.)/g, "$1");
      presumedLine = Number(marker[1]) - 1;
      keep();
      continue;
    }
    if (commented) {
      keep();
      continue;
    }
    if (MACRO_OPEN.test(line)) macroDepth++;
    else if (MACRO_CLOSE.test(line) && macroDepth > 0) macroDepth--;
    else if (macroDepth === 0 && LOOP_OPEN.test(line)) loopDepth++;
    else if (macroDepth === 0 && LOOP_CLOSE.test(line) && loopDepth > 0) {
      loopDepth--;
      keep();
      if (loopDepth === 0 && resyncAfterLoop) {
        push(`# ${presumedLine + 1} "${quoted(presumedFile)}"`);
        resyncAfterLoop = false;
      }
      continue;
    }
    const m = macroDepth > 0 ? null : INCLUDE_LINE.exec(line);
    const found = m === null ? undefined : findInclude(m[1]!, options);
    if (m === null || found === undefined) {
      keep();
      continue;
    }
    const where = { file: presumedFile, line: presumedLine };
    if (open.has(found.path) || depth >= MAX_DEPTH) {
      out.problems.push({ ...where, message: `.include "${m[1]}" includes itself (${depth + 1} levels deep); left for GNU as` });
      keep();
      continue;
    }
    let body: string;
    try {
      if (statSync(found.path).size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES >> 20} MiB`);
      body = readFileSync(found.path, options.encoding ?? "utf8");
    } catch (e) {
      out.problems.push({ ...where, message: `.include "${m[1]}": cannot read ${found.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; left for GNU as` });
      keep();
      continue;
    }
    if (body.includes(RECORD_SECTION_OPEN)) {
      // Already afterburned: GNU as reads it as it is. Its labels are named on the line, so that the
      // afterburner (which picks a label prefix the text does not use) picks others.
      const labels = [...new Set(body.match(/\.Lab\d*_sens_/g) ?? [])];
      out.problems.push({ ...where, message: `.include "${m[1]}": already afterburned; GNU as reads it as it is` });
      out.changed = true;
      keep(`${raw}${labels.length > 0 ? ` # afterburned: ${labels.join(" ")}` : ""}`);
      continue;
    }
    // The included text between markers, then the including file again from the line after the .include.
    out.changed = true;
    out.files.push(found.path);
    push(`# 1 "${quoted(found.shown)}"`);
    open.add(found.path);
    flatten(body, found.shown, options, out, depth + 1, open, top);
    open.delete(found.path);
    push(`# ${presumedLine + 1} "${quoted(presumedFile)}"`);
    if (loopDepth > 0) resyncAfterLoop = true;
  }
}

function quoted(name: string): string {
  return name.replace(/[\\"]/g, "\\$&");
}

/** Where GNU as finds an included file: as written (from its current directory), then in each -I folder. */
function findInclude(name: string, options: IncludeOptions): { path: string; shown: string } | undefined {
  const cwd = options.cwd ?? process.cwd();
  const candidates = isAbsolute(name) ? [name] : [name, ...(options.searchDirs ?? []).map((d) => join(d, name))];
  for (const shown of candidates) {
    const path = isAbsolute(shown) ? shown : join(cwd, shown);
    try {
      if (statSync(path).isFile()) return { path, shown };
    } catch {
      // not there: the next folder
    }
  }
  return undefined;
}

/**
 * prepareAfterburn of an input whose `.include`s are read as GNU as reads them. Sites and diagnostics
 * name the file and line each instruction is in (an included file's own, or the input's as it was
 * before flattening); the output is the flattened text, afterburned.
 */
export function prepareWithIncludes(input: string | Uint8Array, options: BurnOptions & { includes: Omit<IncludeOptions, "fileName" | "encoding"> }): PreparedBurn {
  const fileName = options.fileName ?? "<stdin>";
  const bytes = typeof input === "string" ? undefined : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const probe = bytes ?? (input as string);
  if (!INCLUDE_SPELLINGS.some((w) => probe.includes(w))) return prepareAfterburn(input, options);
  // Bytes stay bytes: read as latin1 (one character per byte) and written back the same way, so text
  // that is not UTF-8 passes through as it was; the afterburner then decodes the result as it would the file.
  const text = bytes !== undefined ? bytes.toString("latin1") : (input as string);
  const flat = flattenIncludes(text, { ...options.includes, fileName, encoding: bytes !== undefined ? "latin1" : "utf8" });
  if (flat === undefined) return prepareAfterburn(input, options);
  const burnt = prepareAfterburn(bytes !== undefined ? Buffer.from(flat.text, "latin1") : flat.text, options);
  const at = (line: number): LineOrigin => flat.origins[line - 1] ?? { file: fileName, line };
  for (const s of burnt.sites) {
    const o = at(s.input.line);
    s.input = { ...s.input, file: o.file, line: o.line };
  }
  for (const d of burnt.diagnostics) {
    if (d.file !== fileName) continue;
    const o = at(d.line);
    d.file = o.file;
    d.line = o.line;
  }
  for (const p of flat.problems) burnt.diagnostics.push({ file: p.file, line: p.line, column: 1, severity: "warning", message: p.message, from: "afterburner" });
  return burnt;
}

/** How `.include` is spelled in practice (GNU as takes any case; these are the cheap byte searches). */
const INCLUDE_SPELLINGS = [".include", ".INCLUDE", ".Include"];
