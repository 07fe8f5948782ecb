// Reading a gcc command line well enough to split a `-c` compile into
// compile-to-assembly → afterburn → assemble, and to leave everything else alone.

import { basename, dirname, extname } from "node:path";

/** gcc options whose value is the next argument (when not joined). */
const SEPARATE_VALUE = new Set([
  "-o", "-I", "-D", "-U", "-include", "-imacros", "-idirafter", "-iprefix", "-iwithprefix", "-iwithprefixbefore",
  "-isystem", "-isysroot", "-iquote", "-imultilib", "-MF", "-MT", "-MQ", "-x", "-L", "-l", "-Xassembler", "-Xlinker",
  "-Xpreprocessor", "-aux-info", "--param", "-T", "-u", "-z", "-e", "-G", "-wrapper", "-dumpbase", "-dumpbase-ext",
  "-dumpdir", "-B", "-A", "--include", "--include-directory", "--define-macro", "--undefine-macro", "--sysroot",
]);

/** gcc's queries: they print something and compile nothing, whatever else the line holds. */
const QUERY = /^(-###|--version|--help|--target-help|-print-.*|-dumpversion|-dumpfullversion|-dumpmachine|-dumpspecs)$/;

/** The code size each -m flag selects (the last one given counts). */
const FLAG_MODE: ReadonlyMap<string, 16 | 32 | 64> = new Map([["-m16", 16], ["-m32", 32], ["-m64", 64], ["-mx32", 64]]);

/** Options that take a separate value only when given bare (e.g. `-I dir` but `-Idir`). */
function takesSeparateValue(arg: string): boolean {
  return SEPARATE_VALUE.has(arg);
}

/** Inputs afterburn-cc splits, by gcc's -x name (cpp-output: preprocessed C, a .i file); "other" passes through. */
export type Language = "c" | "c++" | "cpp-output" | "c++-cpp-output" | "assembler-with-cpp" | "assembler" | "other";

/** Languages gcc compiles to assembly (step 1 is gcc -S), as opposed to assembler sources. */
export function isCompiled(l: Language): boolean {
  return l === "c" || l === "c++" || l === "cpp-output" || l === "c++-cpp-output";
}

export interface SourceInput {
  path: string;
  language: Language;
  /** Index of the argument in argv. */
  index: number;
}

export interface CompileCommand {
  /** The command line has `-c` and none of -E/-S/-M/-MM (which stop before the object). */
  compileOnly: boolean;
  /** Neither `-c` nor a flag that stops early: gcc compiles its sources and links (`gcc -o prog prog.c`). */
  links: boolean;
  inputs: SourceInput[];
  /** `-o` value, if any. */
  output?: string;
  /** Code size the flags select (-m32/-m64/-m16/-mx32); undefined when they do not say. */
  mode?: 16 | 32 | 64;
  /** -MD/-MMD (also through -Wp,) present. */
  makesDeps: boolean;
  /** -MT or -MQ present. */
  hasDepTarget: boolean;
  /** -MF present (or the -Wp,-MD,file form, which names its file). */
  hasDepFile: boolean;
  lto: boolean;
  /** -dumpdir / -dumpbase values: the user names the auxiliary outputs (.su, .gcno, .dwo...) themselves. */
  dumpdir?: string;
  dumpbase?: string;
  /** -save-temps (= -save-temps=obj: beside the output) or -save-temps=cwd. */
  saveTemps?: "obj" | "cwd";
  /** The last -masm= is intel: the compiler writes Intel syntax, which the afterburner does not read. */
  intelSyntax: boolean;
  /** -mx32: 64-bit code with 32-bit pointers in an ELF32 object. */
  x32: boolean;
  /** An option that needs a value ends the line (`-o`, `-x`): gcc's own usage error, left to gcc. */
  missingValue: boolean;
  /** argv without inputs, -c, -o and -x (the flags both steps share). */
  common: string[];
}

function languageOf(path: string, forced: string | undefined): Language {
  if (forced && forced !== "none") {
    // A header compiles to a precompiled header (.gch), not an object: gcc's business alone.
    if (forced === "c") return "c";
    if (forced === "c++") return "c++";
    if (forced === "cpp-output" || forced === "c++-cpp-output") return forced;
    if (forced === "assembler-with-cpp") return "assembler-with-cpp";
    if (forced === "assembler") return "assembler";
    return "other";
  }
  switch (extname(path)) {
    case ".c":
      return "c";
    case ".i":
      return "cpp-output";
    case ".ii":
      return "c++-cpp-output";
    case ".cc":
    case ".cpp":
    case ".cxx":
    case ".C":
    case ".c++":
      return "c++";
    case ".S":
    case ".sx":
      return "assembler-with-cpp";
    case ".s":
      return "assembler";
    default:
      return "other";
  }
}

/**
 * gcc's `@file` arguments replaced by the file's arguments, as gcc reads them (libiberty's
 * buildargv: whitespace separates, single and double quotes group, a backslash escapes the next
 * character; files may name further @files). An @file that cannot be read stays as it is, as in gcc.
 */
export function expandResponseFiles(argv: readonly string[], read: (path: string) => string, depth = 0): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (!a.startsWith("@") || a.length === 1 || depth > 32) {
      out.push(a);
      continue;
    }
    let text: string;
    try {
      text = read(a.slice(1));
    } catch {
      out.push(a);
      continue;
    }
    out.push(...expandResponseFiles(splitResponseText(text), read, depth + 1));
  }
  return out;
}

function splitResponseText(text: string): string[] {
  const args: string[] = [];
  let cur = "";
  let inArg = false;
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inArg = true;
    } else if (quote) {
      if (c === quote) quote = "";
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) args.push(cur);
      cur = "";
      inArg = false;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (inArg) args.push(cur);
  return args;
}

export function readCompileCommand(argv: readonly string[]): CompileCommand {
  let compile = false;
  let stopsEarly = false;
  let forcedLanguage: string | undefined;
  const cmd: CompileCommand = {
    compileOnly: false,
    links: false,
    inputs: [],
    makesDeps: false,
    hasDepTarget: false,
    hasDepFile: false,
    lto: false,
    intelSyntax: false,
    x32: false,
    missingValue: false,
    common: [],
  };
  /** The value of an option written apart (`-o x`), or undefined at the end of the line. */
  const value = (i: number): string | undefined => {
    if (i + 1 < argv.length) return argv[i + 1];
    cmd.missingValue = true;
    return undefined;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-c" || a === "--compile") {
      compile = true;
      continue;
    }
    // -v with inputs compiles verbosely; alone it is a query, and then there is no input to split.
    if (a === "-E" || a === "-S" || a === "-M" || a === "-MM" || a === "-fsyntax-only" || QUERY.test(a)) stopsEarly = true;
    if (a === "-o" || a === "--output") {
      cmd.output = value(i);
      i++;
      continue;
    }
    if ((a.startsWith("-o") && a.length > 2) || a.startsWith("--output=")) {
      cmd.output = a.startsWith("--") ? a.slice("--output=".length) : a.slice(2);
      continue;
    }
    if (a === "-x") {
      forcedLanguage = value(i);
      i++;
      continue;
    }
    if (a.startsWith("-x") && a.length > 2) {
      forcedLanguage = a.slice(2);
      continue;
    }
    const flagged = FLAG_MODE.get(a);
    if (flagged !== undefined) {
      cmd.mode = flagged;
      cmd.x32 = a === "-mx32";
    }
    if (a.startsWith("-masm=")) cmd.intelSyntax = a === "-masm=intel";
    if (a === "-dumpbase") cmd.dumpbase = argv[i + 1];
    if (a === "-dumpdir") cmd.dumpdir = argv[i + 1];
    if (a === "-save-temps" || a === "-save-temps=obj") cmd.saveTemps = "obj";
    if (a === "-save-temps=cwd") cmd.saveTemps = "cwd";
    if (a === "-MD" || a === "-MMD") cmd.makesDeps = true;
    if (a.startsWith("-Wp,-MD,") || a.startsWith("-Wp,-MMD,")) {
      cmd.makesDeps = true;
      cmd.hasDepFile = true;
    }
    if (a === "-MT" || a === "-MQ" || ((a.startsWith("-MT") || a.startsWith("-MQ")) && a.length > 3)) cmd.hasDepTarget = true;
    if (a === "-MF" || (a.startsWith("-MF") && a.length > 3)) cmd.hasDepFile = true;
    if (a === "-flto" || a.startsWith("-flto=")) cmd.lto = true;
    if (a === "-fno-lto") cmd.lto = false;

    if (a.startsWith("-") && a !== "-") {
      cmd.common.push(a);
      if (takesSeparateValue(a)) {
        const v = value(i);
        if (v !== undefined) cmd.common.push(argv[++i]);
      }
      continue;
    }
    // Standard input ("-") has a language only by -x, as for gcc.
    cmd.inputs.push({ path: a, language: languageOf(a, forcedLanguage), index: i });
  }
  cmd.compileOnly = compile && !stopsEarly;
  cmd.links = !compile && !stopsEarly;
  return cmd;
}

/** The code size a compiler command's own arguments select (AFTERBURN_REAL_CC="gcc -m32"), before the line's. */
export function modeOfFlags(words: readonly string[]): 16 | 32 | 64 | undefined {
  let mode: 16 | 32 | 64 | undefined;
  for (const w of words) mode = FLAG_MODE.get(w) ?? mode;
  return mode;
}

/** Where gcc would put the object for an input when no -o is given: the base name with .o, in the current directory. */
export function defaultObjectName(input: string): string {
  const base = basename(input);
  const ext = extname(base);
  return (ext ? base.slice(0, -ext.length) : base) + ".o";
}

/** The dependency file gcc's -MD writes for an object: the object name with its suffix replaced by .d. */
export function defaultDepFile(object: string): string {
  const ext = extname(object);
  return (ext ? object.slice(0, -ext.length) : object) + ".d";
}

const DEBUG_FLAG = /^-g(\d|gdb|dwarf|stabs|xcoff|vms|split-dwarf|record-gcc-switches|column-info|strict-dwarf|btf|ctf|inline-points|statement-frontiers|variable-location-views|internal-reset-location-views|descriptive-type|pubnames|no-|$)/;

/** Flags that only the compile-to-assembly step may see. */
export function isDependencyFlag(a: string): boolean {
  return a === "-MD" || a === "-MMD" || a === "-MP" || a === "-MG" || a.startsWith("-Wp,-MD,") || a.startsWith("-Wp,-MMD,") || /^-M[FTQ]/.test(a);
}

/**
 * Flags for the assemble step. Compiler output already carries its debug info (.loc, .debug_*),
 * so -g there would make `as` generate a second line table — the original afterburner dropped it
 * too. Preprocessed .S keeps -g: `as` derives its line info from the cpp line markers. Its outputs
 * (-gsplit-dwarf's .dwo is made here) are named as the front step names its own: `names`.
 */
export function assembleFlags(common: readonly string[], fromCompiler: boolean, names: OutputNames): string[] {
  const out: string[] = [];
  for (let i = 0; i < common.length; i++) {
    const a = common[i];
    // Options whose value is the next word: the value goes with them.
    if (a === "-MF" || a === "-MT" || a === "-MQ" || a === "-dumpdir" || a === "-dumpbase") {
      i++;
      continue;
    }
    if (isDependencyFlag(a)) continue;
    if (a === "-save-temps" || a.startsWith("-save-temps=")) continue;
    if (fromCompiler && DEBUG_FLAG.test(a) && !a.startsWith("-gz")) continue;
    out.push(a);
  }
  // gcc hands `as` the DWARF version of its line table (--gdwarf-N) when one is asked for; without
  // it `as` writes version 3 under a -gdwarf-4 compile. -gsplit-dwarf makes gcc split the .dwo out
  // after assembling, so it stays with the assemble step too.
  if (fromCompiler) {
    let version: string | undefined;
    let split = false;
    for (const a of common) {
      const m = /^-gdwarf-(\d)$/.exec(a);
      if (m) version = m[1];
      else if (a === "-g0") version = undefined;
      if (a === "-gsplit-dwarf") split = true;
      else if (a === "-gno-split-dwarf") split = false;
    }
    if (version !== undefined) out.push(`-Wa,--gdwarf-${version}`);
    if (split) out.push("-gsplit-dwarf");
  }
  out.push(...dumpFlags(names));
  return out;
}

/**
 * The folders GNU as searches for `.include` after its current directory, in the order gcc hands them
 * over: gcc passes its own -I folders to as, then those given through `-Wa,` or `-Xassembler`.
 */
export function assemblerIncludeDirs(common: readonly string[]): string[] {
  const own: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < common.length; i++) {
    const a = common[i]!;
    if (a === "-I" && i + 1 < common.length) own.push(common[++i]!);
    else if (a.startsWith("-I") && a.length > 2) own.push(a.slice(2));
    else if (a.startsWith("-Wa,")) words.push(...a.slice(4).split(","));
    else if (a === "-Xassembler" && i + 1 < common.length) words.push(common[++i]!);
  }
  const dirs = own;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "-I" && i + 1 < words.length) dirs.push(words[++i]!);
    else if (w.startsWith("-I") && w.length > 2) dirs.push(w.slice(2));
  }
  return dirs;
}

/**
 * What gcc names after one source of a command: its dependency rule (target and file), and the stem
 * of its auxiliary outputs (.su, .gcno, the .gcda path built into the code, -gsplit-dwarf's .dwo,
 * dumps) and of the temporaries -save-temps keeps: gcc's -dumpdir and -dumpbase.
 */
export interface OutputNames {
  depTarget: string;
  depFile: string;
  /** "" for the current directory ("./" would show in the .gcda path), else ending in "/". */
  dumpdir: string;
  dumpbase: string;
}

function dirPrefix(path: string): string {
  const dir = dirname(path);
  return dir === "." ? "" : `${dir}/`;
}

function stem(path: string): string {
  const base = basename(path);
  const ext = extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/**
 * `-c`: everything is named after the object (-save-temps=cwd: the temporaries and aux outputs go to
 * the current directory); a -dumpdir or -dumpbase of the user's replaces its part.
 */
export function compileNames(cmd: CompileCommand, object: string): OutputNames {
  return {
    depTarget: object,
    depFile: defaultDepFile(object),
    dumpdir: cmd.dumpdir ?? (cmd.saveTemps === "cwd" ? "" : dirPrefix(object)),
    dumpbase: cmd.dumpbase ?? stem(object),
  };
}

/**
 * Compile and link (`gcc -o prog a.c b.c`), as gcc 12 names it: each source's outputs are
 * `<out>-<source>.*` beside the output, <out> being the output's name (`a` for a.out) — just
 * `<source>.*` for a lone source of the output's own name (`-o prog prog.c`, `a.c`); `-dumpbase B`
 * makes them `B-<source>.*`, `-dumpdir D` puts `<source>.*` in D. The dependency rule is the
 * output's, in its .d (without -o: `<source>.o`, in the source's own .d).
 */
export function linkNames(cmd: CompileCommand, source: string, sources: number): OutputNames {
  const out = cmd.output;
  const own = stem(source);
  let dumpdir: string;
  let dumpbase: string;
  if (cmd.dumpdir !== undefined) {
    dumpdir = cmd.dumpdir;
    dumpbase = cmd.dumpbase !== undefined ? `${cmd.dumpbase}-${own}` : own;
  } else {
    dumpdir = cmd.saveTemps === "cwd" || out === undefined ? "" : dirPrefix(out);
    const outBase = cmd.dumpbase ?? (out !== undefined ? basename(out) : "a");
    dumpbase = cmd.dumpbase === undefined && sources === 1 && outBase === own ? own : `${outBase}-${own}`;
  }
  return out !== undefined
    ? { depTarget: out, depFile: defaultDepFile(out), dumpdir, dumpbase }
    : { depTarget: `${own}.o`, depFile: `${dumpdir}${dumpbase}.d`, dumpdir, dumpbase };
}

/** -dumpdir / -dumpbase naming this source's outputs (the user's own, if any, are in `names` already). */
function dumpFlags(names: OutputNames): string[] {
  return ["-dumpdir", names.dumpdir, "-dumpbase", names.dumpbase];
}

/**
 * Flags for the compile-to-assembly / preprocess step: everything, with the dependency rule and the
 * auxiliary outputs named as `names` says. gcc would derive them from its -o, which for this step is
 * a temporary file. -save-temps stays: gcc keeps its .i under the same names.
 */
export function frontFlags(cmd: CompileCommand, names: OutputNames): string[] {
  const out = withoutDumpNames(cmd.common);
  if (cmd.makesDeps) {
    // -MQ quotes the name for make ($ and blanks), as gcc's own target from -o is quoted.
    if (!cmd.hasDepTarget) out.push("-MQ", names.depTarget);
    if (!cmd.hasDepFile) out.push("-MF", names.depFile);
  }
  out.push(...dumpFlags(names));
  return out;
}

/** `common` without -dumpdir/-dumpbase and their values (the steps get their own). */
function withoutDumpNames(common: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < common.length; i++) {
    if (common[i] === "-dumpdir" || common[i] === "-dumpbase") i++;
    else out.push(common[i]!);
  }
  return out;
}

/** Where -save-temps keeps the assembly (and, for a link, the object) of a source: undefined without -save-temps. */
export function savedTempsStem(cmd: CompileCommand, names: OutputNames): string | undefined {
  return cmd.saveTemps === undefined ? undefined : names.dumpdir + names.dumpbase;
}
