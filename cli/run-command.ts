// `afterburn run`: boot a guest on the bundled PC and stream its COM1 output.

import { readFileSync, writeSync } from "node:fs";
import { Machine, type RunResult } from "../machine/index.js";
import { readElf } from "../core/toolchain/index.js";
import { flag, intValue, parseArgs, UsageError, value } from "./args.js";
import { InputError } from "./burn-commands.js";

const spec = {
  "--backend": { value: true },
  "--memory": { value: true },
  "--max-instructions": { value: true },
  "--rom": { value: true },
  "--post-port": { value: true, repeat: true },
  "--cmdline": { value: true },
  "--json": {},
};

const BACKENDS_NOW = ["raw"];
const BACKENDS_LATER = ["trap", "vtx", "xen", "l4", "all"];

/** Exit statuses for runs that did not end through the exit port. */
export const RUN_EXIT = { halt: 0, budget: 124, tripleFault: 125, error: 70 } as const;

function readProgram(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function runCommand(argv: readonly string[]): number {
  const a = parseArgs(argv, spec);
  const backend = value(a, "--backend") ?? "raw";
  if (!BACKENDS_NOW.includes(backend)) {
    if (BACKENDS_LATER.includes(backend)) throw new UsageError(`backend '${backend}' needs the wedge, which is not available yet; available now: ${BACKENDS_NOW.join(", ")}`);
    throw new UsageError(`unknown backend '${backend}' (raw, trap, vtx, xen, l4, all)`);
  }
  const memoryMiB = intValue(a, "--memory", 1, 3072) ?? 256;
  const maxInstructions = intValue(a, "--max-instructions", 1, Number.MAX_SAFE_INTEGER) ?? 2_000_000_000;
  const postPorts = (a.options.get("--post-port") ?? []).map((p) => {
    const n = /^0x[0-9a-f]+$/i.test(p) ? parseInt(p, 16) : /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(n >= 0 && n <= 0xffff)) throw new UsageError(`--post-port expects a port number 0–0xffff, got '${p}'`);
    return n;
  });
  const rom = value(a, "--rom");
  if (a.positionals.length > 1) throw new UsageError(`one PROGRAM expected, got ${a.positionals.length}`);
  const program = a.positionals[0];
  if (!program && !rom) throw new UsageError("run needs a PROGRAM (an ELF kernel) or --rom FILE");
  const json = flag(a, "--json");

  let console = "";
  let pending: number[] = [];
  const flush = () => {
    if (pending.length > 0 && !json) writeSync(1, Buffer.from(pending));
    pending = [];
  };
  const machine = new Machine({
    memoryMiB,
    postPorts,
    onSerial(byte) {
      console += String.fromCharCode(byte);
      pending.push(byte);
      if (byte === 10 || pending.length >= 4096) flush();
    },
    onPost(port, byte) {
      if (!json) process.stderr.write(`post 0x${port.toString(16)}: 0x${byte.toString(16).padStart(2, "0")}\n`);
    },
  });

  if (rom) {
    machine.loadRom(readProgram(rom));
  } else {
    const bytes = readProgram(program!);
    const elf = readElf(bytes, program!);
    if (elf.class !== 32 || elf.machine !== "EM_386") {
      throw new InputError(`${program}: a ${elf.class}-bit ${elf.machine} ELF; the bundled PC runs IA-32 (ELF32, EM_386) kernels`);
    }
    if (elf.type !== "EXEC") throw new InputError(`${program}: an ELF of type ${elf.type}; link it into an executable first`);
    const segments = elf.loadSegments();
    if (segments.length === 0) throw new InputError(`${program}: no loadable segments`);
    try {
      machine.loadElfSegments(segments, elf.entry, { cmdline: value(a, "--cmdline") ?? program });
    } catch (e) {
      throw new InputError(`${program}: ${(e as Error).message} (use --memory to give the guest more RAM)`);
    }
  }

  const started = process.hrtime.bigint();
  const result = machine.run({ maxInstructions });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  flush();
  if (json) {
    process.stdout.write(JSON.stringify({ schema: "afterburn-run", version: 1, backend, program: program ?? rom, console, ...summary(result) }, null, 2) + "\n");
  } else {
    const mips = result.instructions / seconds / 1e6;
    process.stderr.write(`afterburn: ${result.message}; ${result.instructions.toLocaleString("en")} instructions in ${seconds.toFixed(2)} s (${mips.toFixed(1)} MIPS)\n`);
    if (result.tripleFault) process.stderr.write(formatCpuReport(result.tripleFault));
  }
  return exitStatus(result);
}

function summary(r: RunResult) {
  return { reason: r.reason, exitCode: r.exitCode, message: r.message, instructions: r.instructions, virtualTime: r.virtualTime, tripleFault: r.tripleFault };
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
    default:
      return RUN_EXIT.error;
  }
}

function formatCpuReport(r: NonNullable<RunResult["tripleFault"]>): string {
  const h = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
  const regs = Object.entries(r.regs).map(([k, v]) => `${k}=${h(v)}`).join(" ");
  return `  eip=${h(r.eip)} eflags=${h(r.eflags)} cr0=${h(r.cr0)} cr2=${h(r.cr2)} cr3=${h(r.cr3)}\n  ${regs}\n  faults: ${r.vectors.join(", ")}\n`;
}

