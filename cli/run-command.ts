// `afterburn run`: boot a guest on the bundled PC under one backend or all of them, stream its COM1 output, and
// report each backend's ledger (events by kind, top sites with source lines, modelled cycles, overhead vs raw).

import { readFileSync, statSync } from "node:fs";
import { Machine, MAX_MEMORY_MIB, MIN_MEMORY_MIB, type RunResult } from "../machine/index.js";
import { BACKENDS, loadGuest, VTX_CONTROLS, WedgeLoadError, type BackendName, type LedgerReport } from "../wedge/index.js";
import { annotationSections } from "../core/toolchain/annotations.js";
import { readElf } from "../core/toolchain/elf.js";
import { flag, intValue, parseArgs, UsageError, value } from "./args.js";
import { InputError } from "./burn-commands.js";
import { StdoutError, writeNow, writeStdout } from "./stdio.js";
import { buildGuestProgram, isElf } from "./guest-build.js";
import { formatComparison, formatLedger, type BackendRun } from "./run-report.js";

const spec = {
  "--backend": { value: true },
  "--memory": { value: true },
  "--max-instructions": { value: true },
  "--rom": { value: true },
  "--post-port": { value: true, repeat: true },
  "--cmdline": { value: true },
  "--vtx": { value: true, repeat: true },
  "--json": {},
};

/** Exit statuses for runs that did not end through the exit port. */
export const RUN_EXIT = { halt: 0, reset: 123, budget: 124, tripleFault: 125, error: 70 } as const;

const DEFAULT_BUDGET = 2_000_000_000;
/** mapFirmware's bounds (machine/boot/rom.ts): a non-empty image of at most 16 MiB, mapped to end at 4 GiB. */
const ROM_MAX_BYTES = 16 * 1024 * 1024;

function readProgram(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function parseBackends(v: string | undefined): BackendName[] {
  if (v === undefined) return ["raw"];
  if (v === "all") return [...BACKENDS];
  const list = v.split(",").map((s) => s.trim());
  for (const b of list) if (!BACKENDS.includes(b as BackendName)) throw new UsageError(`unknown backend '${b}' (raw, trap, vtx, xen, l4, all)`);
  // Each backend once, in the documented order (raw, trap, vtx, xen, l4) whatever the command line's order.
  return BACKENDS.filter((b) => list.includes(b));
}

function romSizeError(path: string, size: number): InputError {
  return new InputError(
    `${path}: a ROM image of ${size.toLocaleString("en")} bytes; --rom takes 1 byte to 16 MiB (${ROM_MAX_BYTES.toLocaleString("en")} bytes), mapped to end at 4 GiB`,
  );
}

function readRom(path: string): Uint8Array {
  let size: number | undefined;
  try {
    const st = statSync(path);
    if (st.isFile()) size = st.size;
  } catch {
    // readProgram names the error
  }
  // Checked before reading when the size is known: a huge file is refused without loading it.
  if (size !== undefined && size > ROM_MAX_BYTES) throw romSizeError(path, size);
  const bytes = readProgram(path);
  if (bytes.length === 0 || bytes.length > ROM_MAX_BYTES) throw romSizeError(path, bytes.length);
  return bytes;
}

function parseVtx(values: string[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const v of values) {
    const m = /^([A-Za-z0-9]+)=(on|off|1|0|true|false)$/.exec(v);
    if (!m) throw new UsageError(`--vtx expects CONTROL=on|off, got '${v}'`);
    if (!(m[1]! in VTX_CONTROLS)) throw new UsageError(`unknown VT-x control '${m[1]}' (${Object.keys(VTX_CONTROLS).join(", ")})`);
    out[m[1]!] = m[2] === "on" || m[2] === "1" || m[2] === "true";
  }
  return out;
}

export function runCommand(argv: readonly string[]): number {
  const a = parseArgs(argv, spec);
  const backends = parseBackends(value(a, "--backend"));
  const memoryMiB = intValue(a, "--memory", MIN_MEMORY_MIB, MAX_MEMORY_MIB) ?? 256;
  const maxInstructions = intValue(a, "--max-instructions", 1, Number.MAX_SAFE_INTEGER) ?? DEFAULT_BUDGET;
  const postPorts = (a.options.get("--post-port") ?? []).map((p) => {
    const n = /^0x[0-9a-f]+$/i.test(p) ? parseInt(p, 16) : /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(n >= 0 && n <= 0xffff)) throw new UsageError(`--post-port expects a port number 0–0xffff, got '${p}'`);
    return n;
  });
  const vtx = parseVtx(a.options.get("--vtx") ?? []);
  const rom = value(a, "--rom");
  if (a.positionals.length > 1) throw new UsageError(`one PROGRAM expected, got ${a.positionals.length}`);
  const program = a.positionals[0];
  if (!program && !rom) throw new UsageError("run needs a PROGRAM (an ELF kernel, a guest source file or directory) or --rom FILE");
  const json = flag(a, "--json");
  if (rom) {
    if (backends.length !== 1 || backends[0] !== "raw") throw new UsageError("--rom runs on the raw backend only (the wedge loads ELF kernels)");
    return runRom(rom, { memoryMiB, maxInstructions, postPorts, json });
  }

  const elfPath = isElf(program!) ? program! : buildGuestProgram(program!, (l) => process.stderr.write(l + "\n"));
  const bytes = readProgram(elfPath);
  const cmdline = value(a, "--cmdline") ?? program!;
  const single = backends.length === 1;
  const runs: BackendRun[] = [];
  const wanted = new Set(backends);
  // Overhead is against raw: run raw first (quietly when it was not asked for).
  const order: BackendName[] = wanted.has("raw") ? backends : ["raw", ...backends];
  for (const backend of order) {
    const shown = wanted.has(backend) && (single || backend === order.find((b) => wanted.has(b)));
    runs.push(runOne(bytes, elfPath, backend, { memoryMiB, maxInstructions, postPorts, cmdline, vtx, stream: shown && !json, json }));
  }
  const raw = runs.find((r) => r.backend === "raw");
  for (const r of runs) if (raw && r.backend !== "raw" && raw.ledger.cycles > 0) r.overheadVsRaw = r.ledger.cycles / raw.ledger.cycles - 1;
  const reported = runs.filter((r) => wanted.has(r.backend));
  warnIfNotAfterburned(bytes, elfPath, reported);

  if (json) {
    const doc = {
      schema: "afterburn-run",
      version: 2,
      program: program!,
      runs: reported.map((r) => ({
        backend: r.backend,
        result: { reason: r.result.reason, exitCode: r.result.exitCode, instructions: r.result.instructions, message: r.result.message },
        console: r.console,
        ledger: r.ledger,
        ...(r.overheadVsRaw !== undefined ? { overheadVsRaw: r.overheadVsRaw } : {}),
      })),
    };
    writeStdout(JSON.stringify(doc, null, 2) + "\n");
  } else if (single) {
    const r = reported[0]!;
    process.stderr.write(`afterburn: ${r.result.message}; ${r.result.instructions.toLocaleString("en")} instructions in ${r.seconds.toFixed(2)} s (${(r.result.instructions / Math.max(r.seconds, 1e-9) / 1e6).toFixed(1)} MIPS)\n`);
    if (r.result.tripleFault) process.stderr.write(formatCpuReport(r.result.tripleFault));
    if (r.backend !== "raw") process.stderr.write(formatLedger(r));
  } else {
    process.stderr.write(formatComparison(reported));
  }
  return combinedStatus(reported.map((r) => exitStatus(r.result)));
}

/**
 * Several backends: the first nonzero status in backend order (raw, trap, vtx, xen, l4), 0 only when every backend's
 * is 0: a backend that fails, or exits differently from raw, never leaves the status at 0.
 */
function combinedStatus(statuses: number[]): number {
  return statuses.find((s) => s !== 0) ?? 0;
}

interface RunOptions {
  memoryMiB: number;
  maxInstructions: number;
  postPorts: number[];
  cmdline: string;
  vtx: Record<string, boolean>;
  stream: boolean;
  json: boolean;
}

/**
 * The guest's console on stdout, a line at a time as it comes. The emulator takes an error thrown
 * from its output callback for the guest's: a write that fails (a full disk) stops the machine
 * instead, and is the command's error once the run returns. A closed pipe ends the process (writeNow).
 */
class ConsoleStream {
  private pending: number[] = [];
  private failure: unknown;

  constructor(private readonly stop: () => void) {}

  push(byte: number): void {
    this.pending.push(byte);
    if (byte === 10 || this.pending.length >= 4096) this.flush();
  }

  private flush(): void {
    const bytes = this.pending;
    this.pending = [];
    if (bytes.length === 0 || this.failure !== undefined) return;
    try {
      writeNow(1, Buffer.from(bytes));
    } catch (e) {
      this.failure = e;
      this.stop();
    }
  }

  /** After the run: the rest written, or the write's error thrown. */
  finish(): void {
    this.flush();
    if (this.failure !== undefined) throw new StdoutError(this.failure);
  }
}

/** A `post` line on stderr: only a closed pipe matters (it ends the process); stderr has no one to report its own failure to. */
function postLine(port: number, byte: number): void {
  try {
    writeNow(2, `post 0x${port.toString(16)}: 0x${byte.toString(16).padStart(2, "0")}\n`);
  } catch {
    // see above
  }
}

/**
 * A kernel without records runs, but the wedge has nothing to rewrite: its sensitive instructions run
 * as written, and the ledger lists them as missed sites. Said once the runs show such sites, so that a
 * plain gcc build or a link that dropped the records (--gc-sections, a /DISCARD/) is not taken for an
 * afterburned kernel; one with no sensitive instruction at all needs no records.
 */
function warnIfNotAfterburned(bytes: Uint8Array, fileName: string, runs: readonly BackendRun[]): void {
  const missed = Math.max(0, ...runs.map((r) => r.ledger.missedSites.length));
  if (missed === 0) return;
  try {
    if (annotationSections(readElf(bytes, fileName)).some((s) => s.size > 0)) return;
  } catch {
    return;
  }
  process.stderr.write(`afterburn: warning: ${fileName} has no .afterburn records, and ${missed} sensitive instruction${missed === 1 ? "" : "s"} ran as written (missed sites): it was built without afterburn-cc, or its link dropped the records (--gc-sections, a /DISCARD/)\n`);
}

function runOne(bytes: Uint8Array, fileName: string, backend: BackendName, o: RunOptions): BackendRun {
  let text = "";
  let guest: ReturnType<typeof loadGuest> | undefined;
  const out = new ConsoleStream(() => guest?.machine.stop());
  try {
    guest = loadGuest(bytes, {
      backend,
      fileName,
      memoryMiB: o.memoryMiB,
      cmdline: o.cmdline,
      vtx: o.vtx,
      onSerial(t) {
        text += t;
        if (o.stream) out.push(t.charCodeAt(0) & 0xff);
      },
    });
  } catch (e) {
    if (e instanceof WedgeLoadError) {
      throw new InputError(e.tooLittleMemory ? `${e.message} (give the guest more memory: --memory MiB, at most ${MAX_MEMORY_MIB})` : e.message);
    }
    throw e;
  }
  for (const port of o.postPorts) {
    guest.machine.devices.io.watchWrites(port, (p, byte) => {
      if (!o.json && o.stream) postLine(p, byte);
    });
  }
  const started = process.hrtime.bigint();
  const result = guest.run({ maxInstructions: o.maxInstructions });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  out.finish();
  return { backend, result, console: text, ledger: guest.report(), seconds };
}

function runRom(rom: string, o: { memoryMiB: number; maxInstructions: number; postPorts: number[]; json: boolean }): number {
  const image = readRom(rom);
  let text = "";
  const out = new ConsoleStream(() => machine.stop());
  const machine = new Machine({
    memoryMiB: o.memoryMiB,
    postPorts: o.postPorts,
    onSerial(byte) {
      text += String.fromCharCode(byte);
      if (!o.json) out.push(byte);
    },
    onPost(port, byte) {
      if (!o.json) postLine(port, byte);
    },
  });
  machine.loadRom(image);
  const started = process.hrtime.bigint();
  const result = machine.run({ maxInstructions: o.maxInstructions });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  out.finish();
  if (o.json) {
    const doc = {
      schema: "afterburn-run",
      version: 2,
      program: rom,
      runs: [{ backend: "raw", result: { reason: result.reason, exitCode: result.exitCode, instructions: result.instructions, message: result.message }, console: text }],
    };
    writeStdout(JSON.stringify(doc, null, 2) + "\n");
  } else {
    process.stderr.write(`afterburn: ${result.message}; ${result.instructions.toLocaleString("en")} instructions in ${seconds.toFixed(2)} s\n`);
    if (result.tripleFault) process.stderr.write(formatCpuReport(result.tripleFault));
  }
  return exitStatus(result);
}

function exitStatus(r: RunResult): number {
  switch (r.reason) {
    case "exit":
      return r.exitCode ?? 0;
    case "halt":
      return RUN_EXIT.halt;
    case "budget":
      return RUN_EXIT.budget;
    case "triple-fault":
      return RUN_EXIT.tripleFault;
    case "reset":
      return RUN_EXIT.reset;
    default:
      return RUN_EXIT.error;
  }
}

function formatCpuReport(r: NonNullable<RunResult["tripleFault"]>): string {
  const h = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
  const regs = Object.entries(r.regs).map(([k, v]) => `${k}=${h(v)}`).join(" ");
  return `  eip=${h(r.eip)} eflags=${h(r.eflags)} cr0=${h(r.cr0)} cr2=${h(r.cr2)} cr3=${h(r.cr3)}\n  ${regs}\n  faults: ${r.vectors.join(", ")}\n`;
}

export type { LedgerReport };
