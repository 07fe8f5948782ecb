// `afterburn-cc`: a drop-in gcc. For `-c` of C, C++, .S and .s inputs it compiles to assembly
// (or preprocesses), afterburns, and assembles; every other invocation goes to the real compiler
// untouched. `make CC=afterburn-cc` therefore afterburns a whole build.
//
// Environment:
//   AFTERBURN_REAL_CC   the compiler to drive, with arguments ("ccache gcc", "i686-linux-gnu-gcc",
//                       "distcc gcc"); default "gcc"
//   AFTERBURN_KEEP=1    keep .preburn_<name>.s and .afterburn_<name>.s beside the object
//   AFTERBURN_SITES=1   write <object>.sites.json (the site list) beside the object
//   AFTERBURN_VERBOSE=1 print each step

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { basename, dirname, extname, join } from "node:path";
import { hasAfterburnerErrors, prepareAfterburn } from "../core/burn/afterburn.js";
import { printDiagnostics, sitesJson } from "./burn-commands.js";
import { realCompilerCommand } from "../core/toolchain/tools.js";
import { assembleFlags, defaultObjectName, expandResponseFiles, frontFlags, readCompileCommand, type SourceInput } from "./cc/gcc-args.js";

/** <afterburn.h> on the include path (after the user's own), and the macro that switches it on. */
const ANNOTATION_FLAGS = ["-D__AFTERBURN__=1", "-idirafter", join(__dirname, "..", "include")];

/** Exit status when the afterburner itself fails (gcc's own failures keep gcc's status). */
const EXIT_AFTERBURN = 3;
const verbose = process.env.AFTERBURN_VERBOSE === "1";

/** Run a command with our stdio; returns its exit status (a signal death re-raises it on us). */
function run(cmd: readonly string[]): number {
  if (verbose) process.stderr.write(`afterburn-cc: ${cmd.map((w) => (/[\s"'\\$]/.test(w) ? JSON.stringify(w) : w)).join(" ")}\n`);
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit" });
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
  if (flagged) return flagged;
  const r = spawnSync(cc[0], [...cc.slice(1), "-dumpmachine"], { encoding: "utf8" });
  const machine = (r.stdout ?? "").trim();
  return /^(i[3-7]86|x86_32)/.test(machine) ? 32 : 64;
}

function afterburnOne(cc: readonly string[], input: SourceInput, object: string, mode: 16 | 32 | 64, cmd: ReturnType<typeof readCompileCommand>): number {
  const keep = process.env.AFTERBURN_KEEP === "1";
  const stem = basename(input.path, extname(input.path));
  const work = keep ? dirname(object) : mkdtempSync(join(tmpdir(), "afterburn-cc-"));
  const preburn = join(work, `.preburn_${stem}.s`);
  const burnt = join(work, `.afterburn_${stem}.s`);
  try {
    // 1. To assembly text: gcc -S for C/C++, the preprocessor for .S, nothing for .s.
    let source = input.path;
    if (input.language !== "assembler") {
      const step = input.language === "assembler-with-cpp" ? "-E" : "-S";
      const status = run([...cc, ...frontFlags(cmd, object), ...ANNOTATION_FLAGS, "-x", input.language, step, input.path, "-o", preburn]);
      if (status !== 0) return status;
      source = preburn;
    }

    // 2. Afterburn. The input stays bytes: the output is written from them and the edits, never made into one string.
    let bytes: Buffer;
    try {
      bytes = readFileSync(source);
    } catch (e) {
      process.stderr.write(`afterburn-cc: ${source}: cannot read: ${(e as Error).message}\n`);
      return EXIT_AFTERBURN;
    }
    const result = prepareAfterburn(bytes, { mode: mode === 64 ? 64 : 32, fileName: input.path });
    // Diagnostics name the input as the user wrote it; lines are those of the preprocessed text. The
    // afterburner's own warnings (a site left unannotated, a .org behind padding) always show; the
    // parser's questions about syntax only when verbose, as GNU as has the last word on those.
    printDiagnostics(
      result.diagnostics.filter((d) => d.severity === "error" || d.from === "afterburner" || verbose),
      false,
    );
    if (hasAfterburnerErrors(result)) return EXIT_AFTERBURN;
    result.writeTo(burnt);
    if (process.env.AFTERBURN_SITES === "1") writeFileSync(`${object}.sites.json`, sitesJson(result, input.path, mode === 64 ? 64 : 32));

    // 3. Assemble.
    const fromCompiler = input.language === "c" || input.language === "c++";
    return run([...cc, ...assembleFlags(cmd.common, fromCompiler), "-x", "assembler", "-c", burnt, "-o", object]);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

export function main(argv: readonly string[]): number {
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
  const supported = cmd.inputs.length > 0 && cmd.inputs.every((i) => i.language !== "other");
  if (!cmd.compileOnly || !supported || cmd.output === "-" || (cmd.output && cmd.inputs.length > 1)) {
    // Not a compile we can split (link, -E, -S, -M, version queries, odd inputs, gcc's own usage errors):
    // the real compiler answers exactly as it would without us.
    return run([...cc, ...argv]);
  }
  if (cmd.lto) {
    process.stderr.write("afterburn-cc: warning: -flto defers code generation to link time, where the afterburner cannot see it; compiling without afterburning\n");
    return run([...cc, ...argv]);
  }
  const mode = targetMode(cc, cmd.mode);
  for (const input of cmd.inputs) {
    const object = cmd.output ?? defaultObjectName(input.path);
    const status = afterburnOne(cc, input, object, mode, cmd);
    if (status !== 0) return status;
  }
  return 0;
}

// A build runs this once per source file: exiting at once skips tearing the heap down. All work is
// synchronous but writes to a piped stderr (make | tee, ninja), which Node queues once the pipe is
// full: then the process ends when the queue has drained, or warnings would be lost.
const status = main(process.argv.slice(2));
if (diedOf !== undefined) process.kill(process.pid, diedOf);
if (process.stderr.writableLength === 0 && process.stdout.writableLength === 0) process.exit(status);
else process.exitCode = status;
