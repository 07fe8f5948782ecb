// Runs a batch of cases on this machine's CPU: one freestanding 32-bit ELF per batch (no libc,
// raw int $0x80). The initial states come in on stdin; the program writes a header, the exact
// bytes GNU as produced for every case (so the emulator runs the very same code), then one
// result record per case as soon as that case finishes (so a crash still names its case).

import { spawn, execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Case, caseText, MEM_BASE, MEM_SIZE, TEXT_BASE } from "./generator.js";

const execFileP = promisify(execFile);

/** Registers (8) + EFLAGS + memory, as the native program reads and writes them. */
export const RECORD_SIZE = 36 + MEM_SIZE;

export interface MachineState {
  regs: number[];
  eflags: number;
  mem: Uint8Array;
}

export interface NativeCaseCode {
  /** Linear address the case's first instruction sits at (same in the emulator). */
  address: number;
  bytes: Uint8Array;
}

export interface NativeBatch {
  code: NativeCaseCode[];
  /** Result per case; undefined from the case that crashed on. */
  results: (MachineState | undefined)[];
  /** Set when the program did not exit normally (e.g. "SIGSEGV at case 17"). */
  crash?: { caseIndex: number; signal: string | null; exitCode: number | null; stderr: string };
}

function driver(n: number): string {
  const total = n * RECORD_SIZE;
  // The case code jumps to save_state with every register live; only absolute addressing and
  // flag-neutral moves are used until EFLAGS is saved.
  return `
.section .data
.globl mem
mem: .space ${MEM_SIZE}
header: .long ${n}, mem, cases_begin, cases_end - cases_begin
.section .bss
.balign 16
inbuf: .space ${total}
outbuf: .space ${RECORD_SIZE}
idx: .space 4
cur_in: .space 4
target: .space 4
.balign 16
save_stack: .space 256
save_stack_top:
.text
.globl _start
_start:
  xorl %esi, %esi
1:cmpl $${total}, %esi
  jae 2f
  movl $3, %eax
  xorl %ebx, %ebx
  leal inbuf(%esi), %ecx
  movl $${total}, %edx
  subl %esi, %edx
  int $0x80
  testl %eax, %eax
  jle fail
  addl %eax, %esi
  jmp 1b
2:movl $save_stack_top, %esp
  movl $header, %ecx
  movl $16, %edx
  call write_all
  movl $case_table, %ecx
  movl $${8 * n}, %edx
  call write_all
  movl $cases_begin, %ecx
  movl $cases_end, %edx
  subl %ecx, %edx
  call write_all
  movl $0, idx
next_case:
  movl idx, %eax
  cmpl $${n}, %eax
  jae done
  imull $${RECORD_SIZE}, %eax, %esi
  addl $inbuf, %esi
  movl %esi, cur_in
  movl case_table(,%eax,8), %eax
  movl %eax, target
  cld
  leal 36(%esi), %esi
  movl $mem, %edi
  movl $${MEM_SIZE / 4}, %ecx
  rep movsl
  movl cur_in, %esi
  movl $save_stack_top, %esp
  pushl 32(%esi)
  popfl
  movl 0(%esi), %eax
  movl 4(%esi), %ecx
  movl 8(%esi), %edx
  movl 12(%esi), %ebx
  movl 16(%esi), %esp
  movl 20(%esi), %ebp
  movl 28(%esi), %edi
  movl 24(%esi), %esi
  jmp *target
save_state:
  movl %esp, outbuf+16
  movl $save_stack_top, %esp
  pushfl
  popl outbuf+32
  movl %eax, outbuf
  movl %ecx, outbuf+4
  movl %edx, outbuf+8
  movl %ebx, outbuf+12
  movl %ebp, outbuf+20
  movl %esi, outbuf+24
  movl %edi, outbuf+28
  cld
  movl $mem, %esi
  movl $outbuf+36, %edi
  movl $${MEM_SIZE / 4}, %ecx
  rep movsl
  movl $outbuf, %ecx
  movl $${RECORD_SIZE}, %edx
  call write_all
  incl idx
  jmp next_case
done:
  movl $1, %eax
  xorl %ebx, %ebx
  int $0x80
fail:
  movl $1, %eax
  movl $3, %ebx
  int $0x80
write_all:
  testl %edx, %edx
  jz 9f
  movl $4, %eax
  movl $1, %ebx
  int $0x80
  testl %eax, %eax
  jle fail
  addl %eax, %ecx
  subl %eax, %edx
  jmp write_all
9:ret
`;
}

/** The whole program for a batch. Each case's code sits between case_N and case_N_end. */
export function batchSource(cases: readonly Case[]): string {
  const parts: string[] = [driver(cases.length), ".section .data", "case_table:"];
  for (let i = 0; i < cases.length; i++) parts.push(`.long case_${i}, case_${i}_end`);
  parts.push(".text", "cases_begin:");
  for (let i = 0; i < cases.length; i++) {
    parts.push(`case_${i}:`, caseText(cases[i]!), `case_${i}_end:`, "jmp save_state");
  }
  parts.push("cases_end:", "");
  return parts.join("\n");
}

const LINKER_SCRIPT = `ENTRY(_start)
SECTIONS {
  . = 0x${MEM_BASE.toString(16)};
  .data : { *(.data) }
  . = 0x${TEXT_BASE.toString(16)};
  .text : { *(.text) }
  . = ALIGN(4096);
  .bss : { *(.bss) }
  /DISCARD/ : { *(.note*) *(.comment) }
}
`;

export function encodeInputs(cases: readonly Case[]): Buffer {
  const buf = Buffer.alloc(cases.length * RECORD_SIZE);
  cases.forEach((c, i) => {
    const o = i * RECORD_SIZE;
    for (let r = 0; r < 8; r++) buf.writeUInt32LE(c.regs[r]! >>> 0, o + 4 * r);
    buf.writeUInt32LE(c.eflags >>> 0, o + 32);
    buf.set(c.mem, o + 36);
  });
  return buf;
}

/**
 * What runs the 32-bit batch. This machine's CPU when its kernel executes i386 ELF binaries;
 * some kernels cannot (no IA-32 emulation, or a hypervisor that offers no 32-bit user segment),
 * and then QEMU's user-mode i386 translator (`qemu-i386`, Debian package qemu-user) stands in as
 * the outside implementation. `DIFF_ORACLE=native|qemu` forces one.
 */
export interface Oracle {
  kind: "native" | "qemu";
  /** The command and leading arguments that run a batch executable. */
  argv: string[];
  /** One line for the test log: which oracle and why. */
  why: string;
}

let oracleChoice: Oracle | undefined;

/** A tiny i386 ELF that exits with 42, built in dir. */
function buildProbe(dir: string): string {
  const src = join(dir, "probe.s");
  const obj = join(dir, "probe.o");
  const exe = join(dir, "probe");
  writeFileSync(src, ".globl _start\n_start: movl $1, %eax\n movl $42, %ebx\n int $0x80\n");
  const as = spawnSync("as", ["--32", "-o", obj, src]);
  const ld = spawnSync("ld", ["-m", "elf_i386", "-o", exe, obj]);
  if (as.status !== 0 || ld.status !== 0) throw new Error(`GNU as/ld cannot build an i386 ELF: ${as.stderr}${ld.stderr}`);
  return exe;
}

/** Whether `argv + [probe]` runs the probe to its exit status. */
function runsI386(argv: string[], probe: string): boolean {
  const [cmd, ...rest] = [...argv, probe];
  const r = spawnSync(cmd!, rest, { stdio: "ignore", timeout: 20_000 });
  return r.status === 42;
}

/** Picks the oracle once per process; throws with the install command when there is none. */
export function oracle(): Oracle {
  if (oracleChoice) return oracleChoice;
  const dir = mkdtempSync(join(tmpdir(), "afterburner-diff-probe-"));
  try {
    const forced = process.env.DIFF_ORACLE;
    if (forced !== undefined && forced !== "native" && forced !== "qemu") throw new Error(`DIFF_ORACLE must be native or qemu, not ${forced}`);
    const probe = buildProbe(dir);
    if (forced !== "qemu" && runsI386([], probe)) {
      oracleChoice = { kind: "native", argv: [], why: "this machine's CPU (the kernel runs i386 ELF binaries)" };
    } else if (forced !== "native" && runsI386(["qemu-i386"], probe)) {
      oracleChoice = {
        kind: "qemu",
        argv: ["qemu-i386"],
        why: forced === "qemu" ? "qemu-i386 (DIFF_ORACLE=qemu)" : "qemu-i386: this kernel does not execute i386 ELF binaries, so QEMU's translator stands in for the native CPU",
      };
    } else {
      throw new Error(
        forced === "native"
          ? "DIFF_ORACLE=native, but this kernel does not execute i386 ELF binaries"
          : "no 32-bit oracle: this kernel does not execute i386 ELF binaries and qemu-i386 is missing; run: bash scripts/setup-system.sh --qemu (installs qemu-user)",
      );
    }
    return oracleChoice;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runProgram(path: string, input: Buffer): Promise<{ stdout: Buffer; code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = [...oracle().argv, path];
    const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    // A crash before all input is read closes the pipe: that is reported through the exit status.
    child.stdin.on("error", () => {});
    child.on("close", (code, signal) =>
      resolve({ stdout: Buffer.concat(out), code, signal, stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.end(input);
  });
}

/** Assemble, link and run one batch natively. Throws if GNU as / ld reject the generated source. */
export async function runNative(cases: readonly Case[]): Promise<NativeBatch> {
  const dir = await mkdtemp(join(tmpdir(), "afterburner-diff-"));
  try {
    const src = join(dir, "batch.s");
    const obj = join(dir, "batch.o");
    const exe = join(dir, "batch");
    const lds = join(dir, "batch.ld");
    await writeFile(src, batchSource(cases));
    await writeFile(lds, LINKER_SCRIPT);
    try {
      await execFileP("as", ["--32", "-o", obj, src]);
      await execFileP("ld", ["-m", "elf_i386", "-T", lds, "-o", exe, obj]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`assembling the generated batch failed (generator bug):\n${err.stderr ?? err.message}`);
    }
    const run = await runProgram(exe, encodeInputs(cases));
    return parseOutput(cases.length, run.stdout, run.code, run.signal, run.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseOutput(n: number, out: Buffer, code: number | null, signal: string | null, stderr: string): NativeBatch {
  if (out.length < 16) throw new Error(`native batch produced no header (exit ${code}, signal ${signal}) ${stderr}`);
  const count = out.readUInt32LE(0);
  const memAddr = out.readUInt32LE(4);
  const blobStart = out.readUInt32LE(8);
  const blobLen = out.readUInt32LE(12);
  if (count !== n || memAddr !== MEM_BASE) throw new Error(`native header mismatch: ${count} cases, mem at 0x${memAddr.toString(16)}`);
  let o = 16;
  const code_: NativeCaseCode[] = [];
  const tableAt = o;
  o += 8 * n;
  const blob = out.subarray(o, o + blobLen);
  o += blobLen;
  for (let i = 0; i < n; i++) {
    const start = out.readUInt32LE(tableAt + 8 * i);
    const end = out.readUInt32LE(tableAt + 8 * i + 4);
    code_.push({ address: start, bytes: new Uint8Array(blob.subarray(start - blobStart, end - blobStart)) });
  }
  const results: (MachineState | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    if (o + RECORD_SIZE > out.length) {
      results.push(undefined);
      continue;
    }
    const regs: number[] = [];
    for (let r = 0; r < 8; r++) regs.push(out.readUInt32LE(o + 4 * r));
    results.push({ regs, eflags: out.readUInt32LE(o + 32), mem: new Uint8Array(out.subarray(o + 36, o + RECORD_SIZE)) });
    o += RECORD_SIZE;
  }
  const batch: NativeBatch = { code: code_, results };
  const done = results.findIndex((r) => r === undefined);
  if (code !== 0 || done !== -1) {
    batch.crash = { caseIndex: done === -1 ? n : done, signal, exitCode: code, stderr };
  }
  return batch;
}

