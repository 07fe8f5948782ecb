// The example guest kernels (examples/) as test fixtures: their names, expected console
// output and exit values, a builder over examples/Makefile, and a runner for the outside
// oracle (qemu-system-i386). The emulator's and the wedge's tests reuse this module.
import { execFile, spawn } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";

// The package is typed as CommonJS (no import.meta); tsx provides __dirname. Should a loader
// not, the examples are found from the working directory upwards (the test runner's is the root).
function findExamplesDir(): string {
  if (typeof __dirname === "string") return resolve(__dirname, "..", "..", "examples");
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "examples", "guest.ld"))) return join(dir, "examples");
    if (dirname(dir) === dir) throw new Error(`no examples/guest.ld above ${process.cwd()}`);
  }
}

export const EXAMPLES_DIR = findExamplesDir();

/** Every guest, smallest first. */
export const GUEST_NAMES = ["hello", "interrupts", "paging", "tasks", "apic", "holes"] as const;
export type GuestName = (typeof GUEST_NAMES)[number];

export interface Guest {
  name: GuestName;
  /** examples/<name> */
  dir: string;
  /** Exactly what the guest writes to COM1 (lines end in "\n"). */
  expectedOutput: string;
  /** The value V the guest writes to the debug-exit port (0xF4): our run's exit status is V & 0xFF. */
  expectedExit: number;
}

export function loadGuest(name: GuestName): Guest {
  const dir = join(EXAMPLES_DIR, name);
  const expectedOutput = readFileSync(join(dir, "expected-output.txt"), "utf8");
  const exitText = readFileSync(join(dir, "expected-exit"), "utf8").trim();
  const expectedExit = Number(exitText);
  if (!/^\d+$/.test(exitText) || !Number.isInteger(expectedExit)) {
    throw new Error(`${join(dir, "expected-exit")}: not a decimal integer: ${JSON.stringify(exitText)}`);
  }
  return { name, dir, expectedOutput, expectedExit };
}

export function loadGuests(): Guest[] {
  return GUEST_NAMES.map(loadGuest);
}

/** Where examples/Makefile puts a guest's ELF for a given O=. */
export function elfPath(outDir: string, name: GuestName): string {
  return join(outDir, `${name}.elf`);
}

export interface BuildOptions {
  /** The compiler for .c and .S (e.g. the afterburner's drop-in `afterburn-cc`); default gcc. */
  cc?: string;
  /** The linker; default ld. */
  ld?: string;
  /** Replaces the Makefile's CFLAGS (-O2 -g -Wall -Wextra); the freestanding flags stay. */
  cflags?: string;
  /** Parallel make jobs; default 4. */
  jobs?: number;
  /** Extra environment for make and the compiler. */
  env?: NodeJS.ProcessEnv;
}

export interface BuildResult {
  outDir: string;
  elfs: Record<GuestName, string>;
  /** make's stdout and stderr. */
  log: string;
}

/** Builds every guest with examples/Makefile into outDir (O=outDir). Rejects with make's output on failure. */
export function buildGuests(outDir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const args = ["-C", EXAMPLES_DIR, `O=${resolve(outDir)}`, `-j${options.jobs ?? 4}`];
  if (options.cc !== undefined) args.push(`CC=${options.cc}`);
  if (options.ld !== undefined) args.push(`LD=${options.ld}`);
  if (options.cflags !== undefined) args.push(`CFLAGS=${options.cflags}`);
  return new Promise((resolvePromise, reject) => {
    execFile(
      "make",
      args,
      { env: { ...process.env, ...options.env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const log = `${stdout}${stderr}`;
        if (error) {
          reject(new Error(`make ${args.join(" ")} failed:\n${log}`));
          return;
        }
        const elfs = Object.fromEntries(GUEST_NAMES.map((n) => [n, elfPath(resolve(outDir), n)])) as Record<
          GuestName,
          string
        >;
        resolvePromise({ outDir: resolve(outDir), elfs, log });
      },
    );
  });
}

/** The path of qemu-system-i386 on PATH, or undefined. */
export function findQemu(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "qemu-system-i386");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * QEMU's arguments for a guest, per docs/guest-abi.md. Not -nographic: with it SeaBIOS also
 * writes its banner to the serial port. No NIC, so no iPXE option ROM either.
 */
export function qemuArgs(elf: string, memoryMiB = 256): string[] {
  return [
    "-kernel", elf,
    "-display", "none",
    "-serial", "stdio",
    "-monitor", "none",
    "-no-reboot",
    "-nic", "none",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
    "-m", String(memoryMiB),
  ];
}

export interface QemuRun {
  /** Everything the guest wrote to COM1. */
  output: string;
  /** QEMU's exit status: (V << 1) | 1 after the guest wrote V to port 0xF4. */
  status: number | null;
  /** V, recovered from status; undefined when QEMU ended otherwise (e.g. killed at the timeout, or status 0). */
  guestExit: number | undefined;
  timedOut: boolean;
  stderr: string;
}

/** isa-debug-exit: status (V << 1) | 1 with an 8-bit exit status, so V & 0x7F is what survives. */
export function guestExitFromQemuStatus(status: number | null): number | undefined {
  if (status === null || (status & 1) === 0) return undefined;
  return status >> 1;
}

/** Runs one guest under QEMU until it writes the exit port, or kills it after timeoutMs (a guard, not a measure). */
export function runUnderQemu(elf: string, options: { qemu?: string; timeoutMs?: number } = {}): Promise<QemuRun> {
  const qemu = options.qemu ?? findQemu();
  if (!qemu) return Promise.reject(new Error("qemu-system-i386 is not installed"));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(qemu, qemuArgs(elf), { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 30_000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolvePromise({
        output: Buffer.concat(out).toString("latin1"),
        status,
        guestExit: timedOut ? undefined : guestExitFromQemuStatus(status),
        timedOut,
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}
