// The launch `program`: an ELF kernel as it is, or guest sources (.c .S .s) built with the
// afterburner (afterburn-cc -c for each, then linked) into a temporary directory. A failed build
// fails the launch with the compiler's own messages (file:line: error: ...), which a problem
// matcher in the editor turns into Problems.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, isAbsolute, join, resolve } from "node:path";

export class ProgramError extends Error {
  constructor(
    message: string,
    /** The compiler's or linker's output, when a build failed. */
    readonly buildLog?: string,
  ) {
    super(message);
    this.name = "ProgramError";
  }
}

export interface Program {
  kind: "elf" | "rom";
  /** The file that runs (the built ELF for sources). */
  path: string;
  bytes: Uint8Array;
  /** Sources it was built from (empty for a given ELF). */
  sources: string[];
  buildLog: string;
}

/** Flags a freestanding 32-bit guest needs (the same as examples/Makefile's GUEST_CFLAGS). */
export const GUEST_CFLAGS = [
  "-m32", "-g", "-O1", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector", "-nostdlib",
  "-fno-asynchronous-unwind-tables", "-fno-omit-frame-pointer", "-mgeneral-regs-only", "-fcf-protection=none",
];
const LINK_FLAGS = ["-m32", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,-z,max-page-size=0x1000"];
const SOURCE_EXTS = new Set([".c", ".S", ".s"]);

function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function read(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ProgramError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The afterburner's compiler driver, next to this bundle (dist/) or this module (debugger/). */
export function afterburnCc(): string {
  return resolve(__dirname, "..", "bin", "afterburn-cc.js");
}

function run(cmd: string, args: string[], cwd: string): Promise<{ ok: boolean; log: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const log = `${stdout}${stderr}`;
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") done({ ok: false, log: `cannot run ${cmd}: not found\n` });
      else done({ ok: !error, log });
    });
  });
}

export interface ProgramOptions {
  program?: string | string[];
  rom?: string;
  /** Extra arguments for the build (each compile and the link): -I, -D, -T script, -O... */
  args?: string[];
  cwd?: string;
}

export async function obtainProgram(o: ProgramOptions): Promise<Program> {
  const cwd = o.cwd ?? process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  if (o.rom) {
    const path = abs(o.rom);
    return { kind: "rom", path, bytes: read(path), sources: [], buildLog: "" };
  }
  const list = (Array.isArray(o.program) ? o.program : o.program ? [o.program] : []).map(abs);
  if (list.length === 0) throw new ProgramError("the launch configuration needs `program` (an ELF kernel or guest sources) or `rom`");
  for (const p of list) if (!existsSync(p)) throw new ProgramError(`${p}: no such file`);
  if (list.length === 1) {
    const bytes = read(list[0]);
    if (isElf(bytes)) return { kind: "elf", path: list[0], bytes, sources: [], buildLog: "" };
  }
  const bad = list.filter((p) => !SOURCE_EXTS.has(extname(p)));
  if (bad.length > 0) throw new ProgramError(`${bad[0]}: neither an ELF file nor a guest source (.c, .S, .s)`);
  return build(list, o.args ?? [], cwd);
}

async function build(sources: string[], args: string[], cwd: string): Promise<Program> {
  const out = mkdtempSync(join(tmpdir(), "afterburn-dap-"));
  const cc = afterburnCc();
  let log = "";
  const objects: string[] = [];
  for (const [i, src] of sources.entries()) {
    const obj = join(out, `${i}-${basename(src, extname(src))}.o`);
    const r = await run(process.execPath, [cc, ...GUEST_CFLAGS, ...args, "-c", src, "-o", obj], cwd);
    log += r.log;
    if (!r.ok) throw new ProgramError(`building ${src} failed:\n${r.log.trim() || "(no compiler output)"}`, log);
    objects.push(obj);
  }
  const elf = join(out, "guest.elf");
  const r = await run(process.execPath, [cc, ...LINK_FLAGS, "-o", elf, ...objects, ...args.filter((a) => !/^-[IDU]/.test(a))], cwd);
  log += r.log;
  if (!r.ok) throw new ProgramError(`linking ${sources.map((s) => basename(s)).join(", ")} failed:\n${r.log.trim() || "(no linker output)"}`, log);
  return { kind: "elf", path: elf, bytes: read(elf), sources, buildLog: log };
}
