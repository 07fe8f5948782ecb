// Accurate mode for .S files: when a compile_commands.json names the file, run the real preprocessor with
// the file's own flags (-I, -D, -U, -include, -m32/-m64...) on the current text, find the sites in its
// output, and map each back to the document through cpp's line markers.

import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { splitCommandLine } from "../toolchain/commandLine.js";
import { runCommand } from "../toolchain/tools.js";
import { parseAsm } from "./parse.js";
import { findSites, type AsmSite } from "./sites.js";
import type { CodeMode, Span } from "./types.js";

export interface CompileCommand {
  directory: string;
  file: string;
  arguments: string[];
}

export interface CompileDatabase {
  path: string;
  byFile: Map<string, CompileCommand>;
}

const cache = new Map<string, { mtimeMs: number; db: CompileDatabase }>();

/** Loads compile_commands.json (cached by modification time). Throws with a message naming the file on bad JSON. */
export function loadCompileDatabase(path: string): CompileDatabase {
  const st = statSync(path);
  const hit = cache.get(path);
  if (hit !== undefined && hit.mtimeMs === st.mtimeMs) return hit.db;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a JSON array of compile commands`);
  const byFile = new Map<string, CompileCommand>();
  for (const item of raw as Record<string, unknown>[]) {
    if (item === null || typeof item !== "object" || typeof item.file !== "string" || typeof item.directory !== "string") continue;
    let args: string[] | undefined;
    if (Array.isArray(item.arguments)) args = item.arguments.map(String);
    else if (typeof item.command === "string") {
      try {
        args = splitCommandLine(item.command);
      } catch {
        args = undefined;
      }
    }
    if (args === undefined) continue;
    const file = isAbsolute(item.file) ? item.file : resolve(item.directory, item.file);
    byFile.set(file, { directory: item.directory, file, arguments: args });
  }
  const db = { path, byFile };
  cache.set(path, { mtimeMs: st.mtimeMs, db });
  return db;
}

/** The preprocessor-relevant flags of a compile command (include paths resolved against its directory). */
export function preprocessorFlags(cmd: CompileCommand): string[] {
  const out: string[] = [];
  const a = cmd.arguments;
  const withValue = new Set(["-I", "-D", "-U", "-include", "-isystem", "-iquote", "-idirafter", "-imacros"]);
  for (let i = 1; i < a.length; i++) {
    const w = a[i];
    if (withValue.has(w) && i + 1 < a.length) {
      out.push(w, w === "-I" || w === "-isystem" || w === "-iquote" || w === "-idirafter" ? resolve(cmd.directory, a[i + 1]) : a[i + 1]);
      i++;
    } else if (/^-I./.test(w)) out.push(`-I${resolve(cmd.directory, w.slice(2))}`);
    else if (/^-[DU]./.test(w) || /^-m(32|64|16)$/.test(w) || /^-std=/.test(w) || w === "-nostdinc" || w === "-undef" || w === "-ansi") out.push(w);
  }
  return out;
}

/** The include folders of a compile command (for text-mode header lookup). */
export function includeDirsOf(cmd: CompileCommand): string[] {
  const f = preprocessorFlags(cmd);
  const out: string[] = [];
  for (let i = 0; i < f.length; i++) {
    if ((f[i] === "-I" || f[i] === "-iquote" || f[i] === "-isystem") && i + 1 < f.length) out.push(f[++i]);
    else if (f[i].startsWith("-I")) out.push(f[i].slice(2));
  }
  return out;
}

export function modeOf(cmd: CompileCommand): CodeMode {
  return cmd.arguments.includes("-m64") ? 64 : 32;
}

export interface AccurateSite extends AsmSite {
  /** Document range (line from cpp's line markers; columns found on that line). */
  range: Span;
}

export interface AccurateResult {
  sites: AccurateSite[];
  /** The preprocessed text (what the afterburner sees in the build). */
  preprocessed: string;
}

/**
 * Preprocesses `text` (the document's current content) with `gcc -E` and the command's flags, run in the
 * command's directory. `gcc` is the command to use (settings: afterburn.toolchain.gcc).
 */
export async function preprocessAccurately(text: string, cmd: CompileCommand, gcc: string[] = ["gcc"], timeoutMs = 10_000): Promise<AccurateResult> {
  const args = [...preprocessorFlags(cmd), "-E", "-x", "assembler-with-cpp", "-D__ASSEMBLY__", "-o", "-", "-"];
  const r = await runCommand("gcc", gcc, args, { cwd: cmd.directory, input: text, timeoutMs });
  if (r.exitCode !== 0) {
    const first = r.stderr.split("\n").find((l) => l.trim() !== "") ?? `exit ${r.exitCode ?? r.signal}`;
    throw new Error(`cpp failed for ${cmd.file}: ${first}`);
  }
  const lines = text.split(/\r\n|\r|\n/);
  const file = parseAsm(r.stdout, { mode: modeOf(cmd), fileName: "preprocessed.s" });
  const sites: AccurateSite[] = [];
  for (const s of findSites(file)) {
    const origin = file.lines[s.span.line]?.origin;
    // Input came from stdin: cpp names it "<stdin>"; anything else is a header.
    if (origin === undefined || origin.file !== "<stdin>") continue;
    const line = origin.line - 1;
    const src = lines[line] ?? "";
    const word = s.expansion?.name ?? s.mnemonic;
    let at = src.toLowerCase().indexOf(word.toLowerCase());
    let end = at + word.length;
    if (at < 0) {
      at = src.length - src.trimStart().length;
      end = Math.max(at + 1, src.trimEnd().length);
    }
    sites.push({ ...s, range: { line, start: at, end } });
  }
  return { sites, preprocessed: r.stdout };
}
