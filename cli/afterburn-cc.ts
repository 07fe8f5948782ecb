// `afterburn-cc`: a drop-in gcc. For `-c` of C, C++, .S and .s inputs it compiles to assembly
// (or preprocesses), afterburns, and assembles; a compile-and-link does that for each source, then
// links; every other invocation goes to the real compiler untouched. `make CC=afterburn-cc`
// therefore afterburns a whole build.
//
// Environment:
//   AFTERBURN_REAL_CC   the compiler to drive, with arguments ("ccache gcc", "i686-linux-gnu-gcc",
//                       "distcc gcc"); default "gcc"
//   AFTERBURN_KEEP=1    keep .preburn_<name>.s and .afterburn_<name>.s beside the object (<name>: the
//                       object's, without .o)
//   AFTERBURN_SITES=1   write <object>.sites.json (the site list) beside the object
//   AFTERBURN_VERBOSE=1 print each step

import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { hasAfterburnerErrors } from "../core/burn/afterburn.js";
import { isAnnotationSection } from "../core/toolchain/annotations.js";
import { sectionSizes } from "../core/toolchain/elf.js";
import { prepareWithIncludes } from "../core/burn/include.js";
import { printDiagnostics, sitesJson } from "./burn-commands.js";
import { writeFileAtomic } from "./files.js";
import { endQuietlyOnClosedPipe } from "./stdio.js";
import { realCompilerCommand } from "../core/toolchain/tools.js";
import {
  assembleFlags, assemblerIncludeDirs, compileNames, defaultObjectName, expandResponseFiles, frontFlags, isCompiled, linkNames, modeOfFlags, readCompileCommand, savedTempsStem,
  type CompileCommand, type OutputNames, type SourceInput,
} from "./cc/gcc-args.js";

/** <afterburn.h> on the include path (after the user's own), and the macro that switches it on. */
const ANNOTATION_FLAGS = ["-D__AFTERBURN__=1", "-idirafter", join(__dirname, "..", "include")];

/** Exit status when the afterburner itself fails (gcc's own failures keep gcc's status). */
const EXIT_AFTERBURN = 3;
/** The section the afterburner's records are in. */
const RECORD_SECTION = ".afterburn";
const verbose = process.env.AFTERBURN_VERBOSE === "1";

/**
 * Set in the environment of every compiler afterburn-cc runs: an AFTERBURN_REAL_CC that leads back
 * to afterburn-cc would otherwise start itself again without end.
 */
const NESTED = "AFTERBURN_CC_ACTIVE";

/** Run a command with our stdio; returns its exit status (a signal death re-raises it on us). */
function run(cmd: readonly string[]): number {
  if (verbose) process.stderr.write(`afterburn-cc: ${cmd.map((w) => (/[\s"'\\$]/.test(w) ? JSON.stringify(w) : w)).join(" ")}\n`);
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit", env: { ...process.env, [NESTED]: "1" } });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    process.stderr.write(
      code === "ENOENT"
        ? `afterburn-cc: cannot run '${cmd[0]}': not found. Install gcc (Debian/Ubuntu: apt-get install gcc) or set AFTERBURN_REAL_CC.\n`
        : `afterburn-cc: cannot run '${cmd[0]}': ${r.error.message}\n`,
    );
    return 127;
  }
  if (r.signal) {
    // Re-raised on ourselves once this compile's temporary files are gone (see the end of this file).
    diedOf ??= r.signal;
    return 128 + (constants.signals[r.signal] ?? 0);
  }
  return r.status ?? 1;
}

/** The signal a compiler step died of: afterburn-cc then dies of it too, as make expects of a compiler. */
let diedOf: NodeJS.Signals | undefined;

function targetMode(cc: readonly string[], flagged: 16 | 32 | 64 | undefined): 16 | 32 | 64 {
  // The line's -m flags, else the compiler command's own ("gcc -m32"), which -dumpmachine ignores.
  const mode = flagged ?? modeOfFlags(cc.slice(1));
  if (mode) return mode;
  const r = spawnSync(cc[0], [...cc.slice(1), "-dumpmachine"], { encoding: "utf8" });
  const machine = (r.stdout ?? "").trim();
  return /^(i[3-7]86|x86_32)/.test(machine) ? 32 : 64;
}

/** A fresh temporary folder: under TMPDIR, else /tmp, else beside the object (gcc, too, copes with a bad TMPDIR). */
function workFolder(object: string): string {
  let first: unknown;
  for (const dir of [tmpdir(), "/tmp", dirname(object)]) {
    try {
      return mkdtempSync(join(dir, "afterburn-cc-"));
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

/** `# 1 "name"`: GNU as then reports errors and writes -g line info against the name, not the temporary file. */
function lineMarker(name: string): string {
  return `# 1 "${name.replace(/[\\"]/g, "\\$&").replace(/\n/g, "\\n")}"\n`;
}

/** Runs `fn` in a fresh temporary folder, removed afterwards; EXIT_AFTERBURN when none can be made. */
function inWorkFolder(near: string, fn: (work: string) => number): number {
  let work: string;
  try {
    work = workFolder(near);
  } catch (e) {
    process.stderr.write(`afterburn-cc: cannot make a temporary folder: ${(e as Error).message}\n`);
    return EXIT_AFTERBURN;
  }
  try {
    return fn(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * One source to its object, the intermediates in `work` (a temporary folder of its own when not
 * given; beside the object with AFTERBURN_KEEP). `names`: what gcc names after this source.
 */
function afterburnOne(cc: readonly string[], input: SourceInput, object: string, mode: 16 | 32 | 64, cmd: CompileCommand, names: OutputNames, work?: string): number {
  if (process.env.AFTERBURN_KEEP === "1") return burnIn(dirname(object), cc, input, object, mode, cmd, names);
  if (work !== undefined) return burnIn(work, cc, input, object, mode, cmd, names);
  return inWorkFolder(object, (w) => burnIn(w, cc, input, object, mode, cmd, names));
}

function burnIn(work: string, cc: readonly string[], input: SourceInput, object: string, mode: 16 | 32 | 64, cmd: CompileCommand, names: OutputNames): number {
  // Named after the object, which is one per compile: two sources of one name in a parallel build share nothing.
  const stem = basename(object, extname(object));
  const preburn = join(work, `.preburn_${stem}.s`);
  const burnt = join(work, `.afterburn_${stem}.s`);
  // 1. To assembly text: gcc -S for C/C++, the preprocessor for .S, nothing for .s. A source on
  // standard input ("-") is read by that step from ours, so gcc names it in its messages as it would.
  let source = input.path;
  if (input.language !== "assembler") {
    const step = input.language === "assembler-with-cpp" ? "-E" : "-S";
    const status = run([...cc, ...frontFlags(cmd, names), ...ANNOTATION_FLAGS, "-x", input.language, step, input.path, "-o", preburn]);
    if (status !== 0) return status;
    source = preburn;
  }
  // 2. Afterburn. The input stays bytes: the output is written from them and the edits, never made into one string.
  let bytes: Buffer;
  try {
    bytes = readFileSync(source === "-" ? 0 : source);
  } catch (e) {
    process.stderr.write(`afterburn-cc: ${source}: cannot read: ${(e as Error).message}\n`);
    return EXIT_AFTERBURN;
  }
  // `.include`d files are read as GNU as reads them (its current directory, then its -I folders), so
  // their sensitive instructions are afterburned too.
  const result = prepareWithIncludes(bytes, {
    mode: mode === 64 ? 64 : 32, fileName: input.path, preprocessed: true, includes: { searchDirs: assemblerIncludeDirs(cmd.common) },
  });
  // Diagnostics name the input as the user wrote it; lines are those of the preprocessed text. The
  // afterburner's own warnings (a site left unannotated, a .org behind padding) always show; the
  // parser's questions about syntax only when verbose, as GNU as has the last word on those.
  printDiagnostics(
    result.diagnostics.filter((d) => d.severity === "error" || d.from === "afterburner" || verbose),
    false,
  );
  if (hasAfterburnerErrors(result)) return EXIT_AFTERBURN;
  const written = writing(burnt, () => {
    const fd = openSync(burnt, "w");
    try {
      // A .s input is assembled from here, not from where it is: say where its lines are.
      if (source === input.path) writeSync(fd, lineMarker(input.path === "-" ? "{standard input}" : input.path));
      result.writeTo(fd);
    } finally {
      closeSync(fd);
    }
  });
  if (!written) return EXIT_AFTERBURN;
  if (process.env.AFTERBURN_SITES === "1" && !isDevice(object)) {
    const sites = `${object}.sites.json`;
    if (!writing(sites, () => writeFileAtomic(sites, sitesJson(result, input.path, mode === 64 ? 64 : 32)))) return EXIT_AFTERBURN;
  }
  // -save-temps keeps the assembly gcc assembles: here, the afterburned one. gcc keeps none for a .s
  // input (the input is the assembly), and that name may be the input's own.
  const kept = savedTempsStem(cmd, names);
  if (kept !== undefined && source !== input.path && !sameFile(`${kept}.s`, input.path)) {
    try {
      copyFileSync(burnt, `${kept}.s`);
    } catch (e) {
      process.stderr.write(`afterburn-cc: -save-temps: cannot write ${kept}.s: ${(e as Error).message}\n`);
    }
  }

  // 3. Assemble.
  const fromCompiler = isCompiled(input.language);
  return run([...cc, ...assembleFlags(cmd.common, fromCompiler, names), "-x", "assembler", "-c", burnt, "-o", object]);
}

/** Runs a write of `path`; false, with the reason said, when it fails (a folder in the way, a full disk). */
function writing(path: string, write: () => void): boolean {
  try {
    write();
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    process.stderr.write(`afterburn-cc: ${path}: cannot write: ${code}\n`);
    return false;
  }
}

/**
 * The object goes to a device, not a file (a build probe's `-o /dev/null`): nothing to list sites of,
 * and a sites file beside it would land in /dev (or fail, and with it the probe).
 */
function isDevice(path: string): boolean {
  try {
    const s = statSync(path);
    return s.isCharacterDevice() || s.isBlockDevice();
  } catch {
    return false;
  }
}

/** The same file (the output would overwrite the input: gcc refuses, and must get the chance to). */
function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function main(argv: readonly string[]): number {
  if (process.env[NESTED] === "1") {
    process.stderr.write("afterburn-cc: AFTERBURN_REAL_CC runs afterburn-cc again; point it at the real compiler (e.g. gcc)\n");
    return 2;
  }
  let cc: string[];
  try {
    cc = realCompilerCommand();
  } catch (e) {
    process.stderr.write(`afterburn-cc: AFTERBURN_REAL_CC / AFTERBURN_GCC: ${(e as Error).message}\n`);
    return 2;
  }
  // Build systems hand long command lines over in @files: the compile inside is ours all the same.
  const args = expandResponseFiles(argv, (path) => readFileSync(path, "utf8"));
  const cmd = readCompileCommand(args);
  // Every compile sees <afterburn.h> and __AFTERBURN__, split or not (-E, -S, -M, compile and link).
  const passThrough = () => {
    const status = run([...cc, ...(cmd.inputs.length > 0 ? ANNOTATION_FLAGS : []), ...argv]);
    if (status === 0 && cmd.links && !cmd.missingValue) checkLinkedRecords(cmd.inputs.filter((i) => i.language === "other").map((i) => i.path), cmd.output ?? "a.out");
    return status;
  };
  const sources = cmd.inputs.filter((i) => i.language !== "other");
  const output = cmd.output;
  const splits =
    sources.length > 0 && !cmd.missingValue && output !== "-" && !(output !== undefined && cmd.inputs.some((i) => sameFile(i.path, output))) &&
    ((cmd.compileOnly && sources.length === cmd.inputs.length && (output === undefined || cmd.inputs.length === 1)) || cmd.links);
  if (!splits) {
    // Not a compile we can split (-E, -S, -M, version queries, odd inputs, gcc's own usage errors
    // such as an output that is an input): the real compiler answers exactly as it would without us.
    if ((cmd.compileOnly || cmd.links) && cmd.inputs.some((i) => i.path === "-")) {
      process.stderr.write("afterburn-cc: warning: a source on standard input is compiled without afterburning (give it a file name)\n");
    }
    return passThrough();
  }
  if (cmd.lto) {
    process.stderr.write("afterburn-cc: warning: -flto defers code generation to link time, where the afterburner cannot see it; compiling without afterburning\n");
    return passThrough();
  }
  if (cmd.intelSyntax && sources.some((i) => isCompiled(i.language))) {
    process.stderr.write("afterburn-cc: error: -masm=intel: the afterburner reads AT&T syntax only; compile without -masm=intel\n");
    return EXIT_AFTERBURN;
  }
  if (cmd.x32) {
    process.stderr.write("afterburn-cc: error: -mx32 is not supported: its objects are ELF32 with 64-bit code, and .afterburn records would need 4-byte addresses\n");
    return EXIT_AFTERBURN;
  }
  const mode = targetMode(cc, cmd.mode);
  return cmd.links ? compileAndLink(cc, args, cmd, sources, mode) : compileEach(cc, cmd, mode);
}

/** `-c`: each source to its object. As gcc does, every source is compiled whichever fail; the status is the first failure's. */
function compileEach(cc: readonly string[], cmd: CompileCommand, mode: 16 | 32 | 64): number {
  let status = 0;
  for (const input of cmd.inputs) {
    const object = cmd.output ?? defaultObjectName(input.path);
    const s = afterburnOne(cc, input, object, mode, cmd, compileNames(cmd, object));
    if (s !== 0 && status === 0) status = s;
    if (diedOf !== undefined) break;
  }
  return status;
}

/**
 * Compile and link in one command (`gcc -o prog a.c b.S lib.o`): each source is afterburned into a
 * temporary object, then gcc links the command line with those objects in the sources' places
 * (`-x none` before each, so a `-x c` before a source does not apply to its object).
 */
function compileAndLink(cc: readonly string[], args: readonly string[], cmd: CompileCommand, sources: readonly SourceInput[], mode: 16 | 32 | 64): number {
  return inWorkFolder(cmd.output ?? "a.out", (work) => {
    const objects = new Map<number, string>();
    let status = 0;
    for (const [n, input] of sources.entries()) {
      const names = linkNames(cmd, input.path, sources.length);
      // -save-temps keeps each source's object too, as gcc does (prog-a.o).
      const kept = savedTempsStem(cmd, names);
      const object = kept !== undefined ? `${kept}.o` : join(work, `${n}-${defaultObjectName(input.path)}`);
      const s = afterburnOne(cc, input, object, mode, cmd, names, work);
      if (s !== 0 && status === 0) status = s;
      if (diedOf !== undefined) return s;
      objects.set(input.index, object);
    }
    if (status !== 0) return status;
    const link = args.flatMap((a, i) => {
      const object = objects.get(i);
      return object === undefined ? [a] : ["-x", "none", object];
    });
    const linked = run([...cc, ...link]);
    if (linked === 0) checkLinkedRecords([...cmd.inputs.filter((i) => i.language === "other").map((i) => i.path), ...objects.values()], cmd.output ?? "a.out");
    return linked;
  });
}

/**
 * Bytes of annotation records in a file (`.afterburn` and the memory annotations' `.afterburn.<kind>`):
 * 0 when it has none, `notElf` when it is no ELF file (an archive, a script, a flat binary), -1 when unreadable.
 */
function recordBytes(path: string, notElf: number): number {
  let sizes: Map<string, number> | undefined;
  try {
    // The section headers alone: a kernel linked in the top half has addresses readElf refuses.
    sizes = sectionSizes(readFileSync(path));
  } catch {
    return -1;
  }
  if (sizes === undefined) return notElf;
  let bytes = 0;
  for (const [name, size] of sizes) if (isAnnotationSection(name)) bytes += size;
  return bytes;
}

/**
 * After a link: whether the output kept the records its objects brought. ld treats `.afterburn` as
 * ordinary data that nothing refers to, so --gc-sections removes it unless the linker script says
 * KEEP(*(.afterburn)), and a script's /DISCARD/ may name it. The program still runs, but none of the
 * sites left out can be rewritten: a loss that must not pass in silence.
 */
function checkLinkedRecords(objects: readonly string[], output: string): void {
  let brought = 0;
  let from = 0;
  // A probe's `-o /dev/null` keeps nothing, by design; a flat binary (--oformat binary) cannot say.
  if (isDevice(output)) return;
  for (const o of objects) {
    const n = recordBytes(o, 0);
    if (n > 0) {
      brought += n;
      from++;
    }
  }
  if (brought === 0) return;
  const kept = recordBytes(output, -1);
  if (kept < 0 || kept >= brought) return;
  const why = kept === 0 ? `the section is gone (--gc-sections removes it unless the linker script says KEEP(*(${RECORD_SECTION})))` : "the linker script discarded some of them";
  process.stderr.write(`afterburn-cc: warning: ${output}: the link kept ${kept} of the ${brought} bytes of ${RECORD_SECTION} records its ${from} afterburned object${from === 1 ? "" : "s"} brought: ${why}; the sites left out will not be rewritten\n`);
}

// A build runs this once per source file: exiting at once skips tearing the heap down. All work is
// synchronous but writes to a piped stderr (make | tee, ninja), which Node queues once the pipe is
// full: then the process ends when the queue has drained, or warnings would be lost.
//
// Ctrl-C reaches the whole process group: Node would die of it at once and leave the temporary
// folder behind. With listeners it waits for the step in progress (the compiler got the signal too,
// so the step ends), the folder goes, and afterburn-cc then dies of the signal as make expects. One
// turn of the event loop at the end hands the listeners a signal sent to afterburn-cc alone.
const ENDING: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const onEnding = (sig: NodeJS.Signals) => {
  diedOf ??= sig;
};
for (const sig of ENDING) process.on(sig, onEnding);
// Its own messages go to stderr (gcc's output goes straight from gcc): a reader that went away ends
// it quietly with 141, as SIGPIPE ends gcc, once the step in progress is done and its folder gone.
endQuietlyOnClosedPipe("afterburn-cc");
const status = main(process.argv.slice(2));
setImmediate(() => {
  for (const sig of ENDING) process.off(sig, onEnding);
  if (diedOf !== undefined) process.kill(process.pid, diedOf);
  if (process.stderr.writableLength === 0 && process.stdout.writableLength === 0) process.exit(status);
  else process.exitCode = status;
});
