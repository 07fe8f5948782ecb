// `afterburn run` on sources: a guest source file or an examples-style directory is built through afterburn-cc
// with the guests' linker script and runtime (examples/guest.ld, examples/lib), into a cache folder under the
// system's temporary directory keyed by the inputs' contents: never into the user's sources.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { InputError } from "./burn-commands.js";

const SOURCE_EXTS = new Set([".c", ".S", ".s"]);

/** The flags examples/Makefile always adds (GUEST_CFLAGS, GUEST_LDFLAGS). */
const GUEST_CFLAGS = [
  "-m32", "-g", "-O2", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector", "-nostdlib",
  "-fno-asynchronous-unwind-tables", "-fno-omit-frame-pointer", "-mgeneral-regs-only", "-fcf-protection=none",
];
const GUEST_LDFLAGS = ["-m", "elf_i386", "-nostdlib", "-z", "max-page-size=0x1000", "--build-id=none", "--no-warn-rwx-segments"];

/** The repository root as seen from this module (cli/ under tsx, dist/ when bundled). */
function projectRoot(): string {
  return resolve(__dirname, "..");
}

export function isElf(path: string): boolean {
  try {
    const fd = readFileSync(path).subarray(0, 4);
    return fd[0] === 0x7f && fd[1] === 0x45 && fd[2] === 0x4c && fd[3] === 0x46;
  } catch {
    return false;
  }
}

/** Sources of a program: the directory's .c/.S/.s files, or the file itself. */
function sourcesOf(program: string): string[] {
  let st;
  try {
    st = statSync(program);
  } catch (e) {
    throw new InputError(`${program}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (st.isDirectory()) {
    const files = readdirSync(program)
      .filter((f) => SOURCE_EXTS.has(extname(f)))
      .sort()
      .map((f) => join(program, f));
    if (files.length === 0) throw new InputError(`${program}: a directory with no .c, .S or .s sources to build`);
    return files;
  }
  if (!SOURCE_EXTS.has(extname(program))) throw new InputError(`${program}: neither an ELF file nor a guest source (.c, .S, .s) or directory`);
  return [program];
}

/**
 * Build PROGRAM (sources) into an afterburned ELF; returns its path. Guests that bring their own multiboot header
 * (a `.multiboot` section in an assembly source, like examples/hello) are linked without the runtime.
 */
export function buildGuestProgram(program: string, log: (line: string) => void = () => {}): string {
  const root = projectRoot();
  const examples = join(root, "examples");
  const lib = join(examples, "lib");
  const script = join(examples, "guest.ld");
  const cc = join(root, "bin", "afterburn-cc.js");
  if (!existsSync(script) || !existsSync(cc)) throw new InputError(`cannot build ${program}: ${script} or ${cc} is missing from this installation`);
  const sources = sourcesOf(program).map((s) => resolve(s));
  const selfContained = sources.some((s) => extname(s) !== ".c" && /\.section\s+\.?multiboot|\.multiboot/.test(readFileSync(s, "latin1")));
  const libSources = selfContained ? [] : ["boot.S", "vectors.S", "lib.c"].map((f) => join(lib, f));
  const hash = createHash("sha256");
  for (const f of [...sources, ...libSources, script, join(lib, "guest.h"), join(lib, "x86.h"), join(root, "dist", "afterburn-cc.js")]) {
    hash.update(f);
    if (existsSync(f)) hash.update(readFileSync(f));
  }
  const dir = join(tmpdir(), "afterburn-run", hash.digest("hex").slice(0, 16));
  const out = join(dir, `${basename(resolve(program)).replace(/\.[^.]+$/, "") || "guest"}.elf`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  log(`afterburn: building ${program} with afterburn-cc into ${dir}`);
  const objs: string[] = [];
  for (const [i, src] of [...sources, ...libSources].entries()) {
    const obj = join(dir, `${i}-${basename(src)}.o`);
    run(process.execPath, [cc, ...GUEST_CFLAGS, `-I${lib}`, `-I${resolve(program, statSync(program).isDirectory() ? "." : "..")}`, "-c", "-o", obj, src], src);
    objs.push(obj);
  }
  const tmp = `${out}.${process.pid}.tmp`;
  run("ld", [...GUEST_LDFLAGS, "-T", script, "-o", tmp, ...objs], "ld");
  renameSync(tmp, out); // atomic: a concurrent run sees the whole ELF or none
  return out;
}

function run(cmd: string, args: string[], what: string): void {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; code?: string; message: string };
    if (err.code === "ENOENT") throw new InputError(`cannot build the guest: ${cmd} is not installed`);
    throw new InputError(`building ${what} failed:\n${(err.stderr ?? "") + (err.stdout ?? "") || err.message}`);
  }
}
