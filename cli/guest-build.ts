// `afterburn run` on sources: a guest source file or an examples-style directory is built through afterburn-cc
// with the guests' linker script and runtime (examples/guest.ld, examples/lib), into a cache folder under the
// system's temporary directory keyed by the inputs' contents: never into the user's sources.
//
// The cache, in two levels. The folder's key hashes what is known before compiling: the sources, the runtime
// sources, guest.ld and afterburn-cc. The headers a source includes are only known from compiling it, so every
// build is made with gcc's -MD dependency files, and the build's folder inside the key folder holds the ELF with a
// manifest of every file those list (each with its contents' hash): a later run reuses a build only when every
// file of its manifest is unchanged. This follows any header, wherever its include path points (the guest's
// folder, examples/lib, a relative ../ path, system headers), and only those the build read. Not followed: files
// an assembly source pulls in with `.include` (the assembler's, which no dependency file lists).

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
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

/** Changes whenever the cache's layout does, so that an older layout's folders are never taken for this one's. */
const CACHE_LAYOUT = "afterburn-run cache 2: build folders with a dependency manifest";
const MANIFEST = "deps.json";

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

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
  const hash = createHash("sha256").update(CACHE_LAYOUT);
  for (const f of [...sources, ...libSources, script, join(root, "dist", "afterburn-cc.js")]) {
    hash.update(f);
    if (existsSync(f)) hash.update(readFileSync(f));
  }
  const dir = join(tmpdir(), "afterburn-run", hash.digest("hex").slice(0, 16));
  const name = `${basename(resolve(program)).replace(/\.[^.]+$/, "") || "guest"}.elf`;
  const cached = findBuild(dir, name);
  if (cached) return cached;
  mkdirSync(dir, { recursive: true });
  log(`afterburn: building ${program} with afterburn-cc into ${dir}`);
  // A private folder, renamed into place when complete: a concurrent run sees a whole build or none.
  const work = mkdtempSync(join(dir, ".build-"));
  try {
    const objs: string[] = [];
    const depFiles: string[] = [];
    for (const [i, src] of [...sources, ...libSources].entries()) {
      const obj = join(work, `${i}-${basename(src)}.o`);
      const dep = `${obj}.d`;
      const include = `-I${resolve(program, statSync(program).isDirectory() ? "." : "..")}`;
      run(process.execPath, [cc, ...GUEST_CFLAGS, `-I${lib}`, include, "-MD", "-MF", dep, "-c", "-o", obj, src], src);
      objs.push(obj);
      depFiles.push(dep);
    }
    run("ld", [...GUEST_LDFLAGS, "-T", script, "-o", join(work, name), ...objs], "ld");
    const manifest: Record<string, string> = {};
    for (const dep of depFiles) {
      // A plain .s source is not preprocessed: gcc writes no dependency file for it.
      if (!existsSync(dep)) continue;
      for (const f of dependencies(readFileSync(dep, "utf8"))) manifest[resolve(f)] = sha256(readFileSync(f));
    }
    const text = JSON.stringify(manifest, Object.keys(manifest).sort());
    writeFileSync(join(work, MANIFEST), text);
    const build = join(dir, sha256(text).slice(0, 16));
    try {
      renameSync(work, build);
    } catch (e) {
      // Another run finished the same build first (same manifest, same name): use theirs.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
    }
    return join(build, name);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A finished build in `dir` whose every dependency still has the contents it was built from. */
function findBuild(dir: string, name: string): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (e.startsWith(".")) continue; // builds in progress
    const elf = join(dir, e, name);
    try {
      const manifest = JSON.parse(readFileSync(join(dir, e, MANIFEST), "utf8")) as Record<string, string>;
      if (existsSync(elf) && Object.entries(manifest).every(([f, h]) => existsSync(f) && sha256(readFileSync(f)) === h)) return elf;
    } catch {
      // an unreadable or foreign entry is not a usable build
    }
  }
  return undefined;
}

/**
 * The prerequisites of the first rule of a make dependency file as gcc writes it ("obj.o: a.c b.h \⏎ c.h"), with
 * gcc's escapes undone ("\ " a space, "\#" a hash, "$$" a dollar): paths with spaces are common in user folders.
 */
export function dependencies(text: string): string[] {
  const rule = text.replace(/\\\r?\n/g, " ").split(/\r?\n/)[0] ?? "";
  const words: string[] = [];
  let word = "";
  for (let i = 0; i < rule.length; i++) {
    const c = rule[i]!;
    const next = rule[i + 1];
    if (c === "\\" && (next === " " || next === "\t" || next === "#")) {
      word += next;
      i++;
    } else if (c === "$" && next === "$") {
      word += "$";
      i++;
    } else if (c === " " || c === "\t") {
      if (word) words.push(word);
      word = "";
    } else word += c;
  }
  if (word) words.push(word);
  // The target is the word ending in the rule's colon ("obj.o:"), or a lone ":" follows it.
  const colon = words.findIndex((w) => w.endsWith(":"));
  return colon < 0 ? [] : words.slice(colon + 1);
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
