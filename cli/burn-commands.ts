// `afterburn burn` and `afterburn sites`: thin wrappers over core/burn.

import { readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { hasAfterburnerErrors, type BurnDiagnostic, type BurnReport } from "../core/burn/afterburn.js";
import { prepareWithIncludes } from "../core/burn/include.js";
import { formatPosition, type Site } from "../core/burn/site.js";
import { flag, parseArgs, UsageError, value, type ParsedArgs } from "./args.js";
import { writeFileAtomic } from "./files.js";
import { writeStdout } from "./stdio.js";

export const SITES_SCHEMA_VERSION = 1;

const burnSpec = {
  "--output": { value: true, aliases: ["-o"] },
  "--sites": { value: true },
  "-m32": {},
  "-m64": {},
  "--no-annotate": {},
  "--quiet": { aliases: ["-q"] },
  "--include-dir": { value: true, repeat: true, aliases: ["-I"] },
};

const sitesSpec = {
  "--json": {},
  "-m32": {},
  "-m64": {},
  "--include-dir": { value: true, repeat: true, aliases: ["-I"] },
};

/** Burn options with `.include`d files read as GNU as reads them: the current folder, then each -I folder. */
function burnOptions(a: ParsedArgs, mode: 32 | 64, name: string, annotate = true): Parameters<typeof prepareWithIncludes>[1] {
  return { mode, fileName: name, annotate, includes: { searchDirs: a.options.get("--include-dir") ?? [] } };
}

function modeOf(a: ParsedArgs): 32 | 64 {
  if (flag(a, "-m32") && flag(a, "-m64")) throw new UsageError("give -m32 or -m64, not both");
  return flag(a, "-m64") ? 64 : 32;
}

/** The input's bytes: prepareAfterburn() decodes them as UTF-8, and copies unchanged ranges of ASCII input from them as they are. */
function readInput(a: ParsedArgs): { bytes: Buffer; name: string } {
  if (a.positionals.length > 1) throw new UsageError(`one input file expected, got ${a.positionals.length}`);
  const file = a.positionals[0];
  const stdin = file === undefined || file === "-";
  const name = stdin ? "<stdin>" : file;
  try {
    return { bytes: readFileSync(stdin ? 0 : file), name };
  } catch (e) {
    // Standard input can fail too (`afterburn burn < folder`): named like a file.
    throw new InputError(`${name}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A file could not be read or written (exit status 3). */
export class InputError extends Error {}

/**
 * writeFileAtomic, failing with the path the user gave: its own error names the temporary file beside it.
 * Only a regular file is written beside and renamed over: a FIFO or a device (`-o /dev/null`, which root
 * could otherwise replace with a file) is written into, and a symlink's target is written, the link kept.
 */
function writeOutput(path: string, data: string | ((tmp: string) => void)): void {
  try {
    let target = path;
    let regular = true;
    try {
      const st = statSync(path);
      regular = st.isFile();
      if (regular) target = realpathSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (!regular) {
      if (typeof data === "function") data(path);
      else writeFileSync(path, data);
    } else writeFileAtomic(target, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new InputError(`${path}: cannot write: ${code}`);
  }
}

export function printDiagnostics(diags: readonly BurnDiagnostic[], quiet: boolean): void {
  for (const d of diags) {
    if (quiet && d.severity !== "error") continue;
    // Where the line came from (a .S line through cpp, a C line) is what the user can open.
    const at = d.source && d.source.line > 0 ? `${d.source.file}:${d.source.line}:${d.source.column || d.column}` : `${d.file}:${d.line}:${d.column}`;
    process.stderr.write(`${at}: ${d.severity}: ${d.message}\n`);
  }
}

export function sitesJson(result: BurnReport, file: string, mode: 32 | 64): string {
  return JSON.stringify({ schema: "afterburn-sites", version: SITES_SCHEMA_VERSION, file, mode, sites: result.sites }, null, 2) + "\n";
}

/** Returns the exit status. */
export function burnCommand(argv: readonly string[]): number {
  const a = parseArgs(argv, burnSpec);
  const mode = modeOf(a);
  const { bytes, name } = readInput(a);
  const out = value(a, "--output");
  const sitesFile = value(a, "--sites");
  if (sitesFile === "-" && (out === undefined || out === "-")) throw new UsageError("--sites - and the output both on standard output: give -o FILE or --sites FILE");
  const result = prepareWithIncludes(bytes, burnOptions(a, mode, name, !flag(a, "--no-annotate")));
  printDiagnostics(result.diagnostics, flag(a, "--quiet"));
  if (out && out !== "-") writeOutput(out, (tmp) => result.writeTo(tmp)); // written from the input and the edits, never one string
  else writeStdout(result.outputBytes());
  if (sitesFile === "-") writeStdout(sitesJson(result, name, mode));
  else if (sitesFile) writeOutput(sitesFile, sitesJson(result, name, mode));
  return hasAfterburnerErrors(result) ? 1 : 0;
}

export function sitesCommand(argv: readonly string[]): number {
  const a = parseArgs(argv, sitesSpec);
  const mode = modeOf(a);
  const { bytes, name } = readInput(a);
  if (flag(a, "--json")) {
    // What burn --sites writes: the padding each site gets, and the real reason a site is left
    // unannotated (a .afterburn_noannotate region, 16-bit code), not "annotation disabled" for all.
    const burnt = prepareWithIncludes(bytes, burnOptions(a, mode, name));
    writeStdout(sitesJson(burnt, name, mode));
    return 0;
  }
  const result = prepareWithIncludes(bytes, burnOptions(a, mode, name, false));
  // An afterburned input is not searched: its empty table needs the warning that says why.
  printDiagnostics(result.diagnostics, !result.alreadyAfterburned);
  writeStdout(formatSiteTable(result.sites));
  return 0;
}

export function formatSiteTable(sites: readonly Site[]): string {
  if (sites.length === 0) return "no sensitive instructions\n";
  const rows = sites.map((s) => [
    // The line it came from, when that is another (a .S line through cpp, a C line).
    formatPosition(s.input) + (s.source && (s.source.file !== s.input.file || s.source.line !== s.input.line) ? ` (${formatPosition(s.source)})` : ""),
    s.id,
    s.class,
    String(s.padding || "-"),
    s.text + (s.expandedFrom ? `   [from ${s.expandedFrom}]` : "") + (s.annotated || !s.reason || s.reason.startsWith("annotation disabled") ? "" : `   (not annotated: ${s.reason})`),
  ]);
  const header = ["site", "id", "class", "pad", "instruction"];
  // A loop, not Math.max(...): spread into arguments, 130,000 rows overflowed the stack.
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i].length), h.length));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  const byClass = new Map<string, number>();
  for (const s of sites) byClass.set(s.class, (byClass.get(s.class) ?? 0) + 1);
  const summary = [...byClass].map(([k, n]) => `${n} ${k}`).join(", ");
  return [fmt(header), ...rows.map(fmt), `${sites.length} sites (${summary})`].join("\n") + "\n";
}
