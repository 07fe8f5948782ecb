// Prints the language server's latencies over real JSON-RPC stdio (the bundled dist/server.js, spawned
// as `node dist/server.js --stdio`, spoken to with vscode-jsonrpc as an editor does):
//   full open      didOpen → the analysis is complete and its diagnostics are published: the answer to a
//                  hover request sent right after didOpen (it needs the analysis, then costs next to
//                  nothing), or the last publish for the URI if later   (target ≤ 150 ms for 100k lines)
//   first publish  didOpen → the first publishDiagnostics for that URI (a large .s file's sites come from
//                  the afterburner's line scanner before the analysis exists: server/quick-open.ts)
//   per edit       incremental didChange → publishDiagnostics of that version (target p95 ≤ 5 ms)
// on (a) a generated 20,000-line kernel-style .S file and (b) 100,000 lines of gcc -S -m32 -O2 -g1 output
// (really compiled from generated C with inline asm when gcc can target i386, else a synthetic imitation),
// and the server's resident memory (VmRSS / VmHWM of the server process from /proc).
// Figures only; never fails on timing. It does fail if the diagnostics after the edits differ from those of
// a fresh open of the same text (the incremental path must agree with the full one).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { GCProfiler, getHeapSpaceStatistics } from "node:v8";
import { LspClient, type PublishedDiagnostics, type Range } from "../test/server/lsp-client.js";
import { prng } from "../test/prng.js";
import { countLines } from "../server/documents.js";
import { DEFAULT_SETTINGS } from "../server/settings.js";
import { quickOpenAnalysis } from "../server/quick-open.js";
import type { Message } from "vscode-languageserver/node";
import { loadBundled } from "./lib/bundle.js";
import { faultCost, ownFaults, pageFaultMicros } from "./lib/host.js";

const ROOT = resolve(__dirname, "..");
const KERNEL_LINES = 20_000;
const GCC_LINES = 100_000;
const EDITS = 300; // per file: 100 typed characters, 100 mnemonic changes, 100 line inserts/deletes (as pairs)

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// (a) kernel-style GNU as source (.S: cpp #define/#include, .macro, .rept, sections, comments).

export const KERNEL_HEADER = `/* bench-kernel.h: macros shared by the generated entry code */
#ifndef BENCH_KERNEL_H
#define BENCH_KERNEL_H
#define KERNEL_CS	0x10
#define KERNEL_DS	0x18
#define USER_DS		0x2b
#define PAGE_OFFSET	0xC0000000
#define X86_EFLAGS_IF	0x00000200
.macro SAVE_ALL
	cld
	pushl %gs
	pushl %fs
	pushl %es
	pushl %ds
	pushl %eax
	pushl %ebp
	pushl %edi
	pushl %esi
	pushl %edx
	pushl %ecx
	pushl %ebx
	movl $KERNEL_DS, %edx
	movl %edx, %ds
	movl %edx, %es
.endm
.macro RESTORE_REGS
	popl %ebx
	popl %ecx
	popl %edx
	popl %esi
	popl %edi
	popl %ebp
	popl %eax
	popl %ds
	popl %es
	popl %fs
	popl %gs
.endm
#endif
`;

export function generateKernel(lines: number, rnd: () => number): string {
  const out: string[] = [
    "/* SPDX-License-Identifier: GPL-2.0 */",
    "/*",
    " * entry_gen.S: generated low-level entry, interrupt and MMU code for the LSP benchmark.",
    " * Kernel style: cpp macros, gas macros, local labels, several sections.",
    " */",
    "#include \"bench-kernel.h\"",
    "",
    "#define ENTRY(name)\t.globl name; .type name, @function; .p2align 4; name:",
    "#define END(name)\t.size name, .-name",
    "#define PER_CPU_VAR(var)\t%fs:var",
    "",
    ".macro IRQ_DISABLE",
    "\tcli",
    ".endm",
    ".macro IRQ_ENABLE",
    "\tsti",
    ".endm",
    ".macro FLUSH_TLB reg=%eax",
    "\tmovl %cr3, \\reg",
    "\tmovl \\reg, %cr3",
    ".endm",
    "",
    "\t.text",
    "\t.code32",
  ];
  const regs = ["%eax", "%ebx", "%ecx", "%edx", "%esi", "%edi"];
  const reg = () => regs[Math.floor(rnd() * regs.length)];
  const ordinary = (): string => {
    switch (Math.floor(rnd() * 12)) {
      case 0: return `\tmovl ${reg()}, ${reg()}`;
      case 1: return `\taddl $${Math.floor(rnd() * 64) * 4}, ${reg()}`;
      case 2: return `\tmovl ${Math.floor(rnd() * 16) * 4}(%esp), ${reg()}`;
      case 3: return `\tmovl ${reg()}, PER_CPU_VAR(cpu_current_top_of_stack)`;
      case 4: return `\ttestl $X86_EFLAGS_IF, ${reg()}`;
      case 5: return `\tleal 4(${reg()},${reg()},4), ${reg()}`;
      case 6: return `\tandl $0xfffff000, ${reg()}\t\t# page align`;
      case 7: return `\txorl ${reg()}, ${reg()}`;
      case 8: return `\tshrl $12, ${reg()}`;
      case 9: return `\tcmpl $PAGE_OFFSET, ${reg()}`;
      case 10: return `\tincl ${reg()}`;
      default: return `\tsubl ${reg()}, ${reg()}`;
    }
  };
  let n = 0;
  while (out.length < lines) {
    // Mostly ordinary code; the sensitive kinds come round at kernel-like rates.
    const name = `gen_fn_${n}`;
    const slot = n % 32;
    const kind = slot === 0 ? 0 : slot % 8 === 1 ? 1 : slot % 8 === 2 ? 2 : slot === 3 ? 3 : slot === 19 ? 4 : slot % 8 === 5 ? 5 : slot % 16 === 7 ? 7 : 6;
    if (kind === 0) {
      // Interrupt stubs: each pushes its vector and jumps to the common path, which saves registers, calls C, restores, irets.
      for (let v = 0; v < 8; v++) out.push(`ENTRY(irq_entry_${n}_${v})`, `\tpushl $${~((n + v) & 255)}\t\t/* vector ${(n + v) & 255} */`, `\tjmp common_interrupt_${n}`, `END(irq_entry_${n}_${v})`);
      out.push("", `ENTRY(common_interrupt_${n})`, "\tSAVE_ALL", "\tmovl %esp, %eax", "\tcall do_IRQ", "\tRESTORE_REGS", "\taddl $4, %esp", "\tiret", `END(common_interrupt_${n})`);
    } else if (kind === 1) {
      // spin_lock_irqsave / restore around a short critical section.
      out.push("", `ENTRY(${name})`, "\tpushl %ebp", "\tmovl %esp, %ebp", "\tpushfl", "\tpopl %eax\t\t# flags", "\tIRQ_DISABLE", "1:\tlock; btsl $0, lock_word", "\tjc 1b");
      for (let k = 0; k < 6; k++) out.push(ordinary());
      out.push("\tmovl $0, lock_word", "\tpushl %eax", "\tpopfl", "\tpopl %ebp", "\tret", `END(${name})`);
    } else if (kind === 2) {
      // Port I/O to a UART and the PIC.
      out.push("", `ENTRY(${name})`, "\tmovw $0x3fd, %dx", "2:\tinb %dx, %al\t\t/* line status */", "\ttestb $0x20, %al", "\tjz 2b", "\tmovw $0x3f8, %dx", "\tmovb 4(%esp), %al", "\toutb %al, %dx", "\tmovb $0x20, %al", "\toutb %al, $0x20\t\t# EOI", "\tret", `END(${name})`);
    } else if (kind === 3) {
      // Page-table switch.
      out.push("", `ENTRY(${name})`, "\tmovl 4(%esp), %eax", "\tsubl $PAGE_OFFSET, %eax", "\tmovl %eax, %cr3", "\tmovl %cr0, %ecx", "\torl $0x80000000, %ecx", "\tmovl %ecx, %cr0", "\tFLUSH_TLB %edx", "\tinvlpg (%eax)", "\tret", `END(${name})`);
    } else if (kind === 4) {
      // Descriptor tables and a far jump to reload CS.
      out.push("", `ENTRY(${name})`, "\tlgdt gdt_descr", "\tlidt idt_descr", "\tljmp $KERNEL_CS, $3f", "3:\tmovl $KERNEL_DS, %eax", "\tmovl %eax, %ds", "\tmovl %eax, %ss", "\tmovl $USER_DS, %eax", "\tmovl %eax, %es", "\tret", `END(${name})`);
    } else if (kind === 5) {
      // Data: a descriptor table and strings, then back to .text.
      out.push("", "\t.section .data", "\t.p2align 3", `gdt_table_${n}:`, "\t.quad 0x0000000000000000\t/* null */", "\t.quad 0x00cf9a000000ffff\t/* kernel code */", "\t.quad 0x00cf92000000ffff\t/* kernel data */", `msg_${n}:\t.asciz "cpu ${n}: ready\\n"`, "\t.long 0, 1, 2, 3", "\t.text");
    } else if (kind === 6) {
      // An ordinary function with a loop; long enough to be most of the file.
      out.push("", `/*`, ` * ${name}: copy a block, no sensitive instructions`, ` */`, `ENTRY(${name})`, "\tpushl %esi", "\tpushl %edi", "\tmovl 12(%esp), %esi", "\tmovl 16(%esp), %edi", "\tmovl 20(%esp), %ecx", "4:");
      const body = 20 + Math.floor(rnd() * 40);
      for (let k = 0; k < body; k++) out.push(ordinary());
      out.push("\tdecl %ecx", "\tjnz 4b", "\tpopl %edi", "\tpopl %esi", "\tret", `END(${name})`);
    } else {
      // Timing and CPU identification; an IDT fill with .rept.
      out.push("", `ENTRY(${name})`, "\trdtsc", "\tmovl %eax, tsc_low", "\tmovl $1, %eax", "\tcpuid", "\tpushl %ebx", "\t.rept 4", "\tnop", "\t.endr", "\tpopl %ebx");
      for (let k = 0; k < 8; k++) out.push(ordinary());
      out.push("\thlt", "\tret", `END(${name})`);
    }
    n++;
  }
  return out.slice(0, lines).join("\n");
}

// ---------------------------------------------------------------------------------------------
// (b) gcc -S output: generated C with inline asm compiled with gcc -S -m32 -O2 -g.

const C_PRELUDE = `typedef unsigned int u32; typedef unsigned short u16; typedef unsigned char u8;
struct device { u32 base; u32 regs[16]; u32 flags; struct device *next; const char *name; };
extern void printk(const char *fmt, ...);
extern volatile u32 jiffies;
static inline u32 native_save_fl(void) { u32 f; asm volatile("pushf ; pop %0" : "=rm"(f) : : "memory"); return f; }
static inline void native_restore_fl(u32 f) { asm volatile("push %0 ; popf" : : "g"(f) : "memory", "cc"); }
static inline void native_irq_disable(void) { asm volatile("cli" : : : "memory"); }
static inline void native_irq_enable(void) { asm volatile("sti" : : : "memory"); }
static inline u8 inb(u16 port) { u8 v; asm volatile("inb %w1, %b0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outb(u8 v, u16 port) { asm volatile("outb %b0, %w1" : : "a"(v), "Nd"(port)); }
static inline u32 read_cr3(void) { u32 v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(u32 v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline unsigned long long rdtsc(void) { unsigned long long v; asm volatile("rdtsc" : "=A"(v)); return v; }
struct desc_ptr { u16 size; u32 address; } __attribute__((packed));
static inline void load_gdt(const struct desc_ptr *p) { asm volatile("lgdt %0" : : "m"(*p)); }
static inline void cpu_relax(void) { asm volatile("rep; nop" : : : "memory"); }
`;

export function generateC(functions: number, rnd: () => number): string {
  const out: string[] = [C_PRELUDE];
  for (let f = 0; f < functions; f++) {
    const r = rnd();
    const body: string[] = [];
    body.push(`u32 sum = d->base + ${f};`, `for (int i = 0; i < n; i++) { sum += d->regs[i & 15] * ${(f % 7) + 3}; if (sum & 0x${(f * 2654435761 >>> 0).toString(16).slice(0, 3)}) d->flags |= 1u << (i & 31); }`);
    if (r < 0.12) body.push("u32 fl = native_save_fl(); native_irq_disable();", "d->regs[0] = sum; jiffies++;", "native_restore_fl(fl);");
    else if (r < 0.22) body.push(`while (!(inb(d->base + 5) & 0x20)) cpu_relax();`, `outb((u8)sum, d->base);`);
    else if (r < 0.27) body.push("u32 cr3 = read_cr3(); write_cr3(cr3);");
    else if (r < 0.31) body.push("unsigned long long t = rdtsc(); sum ^= (u32)t;");
    else if (r < 0.33) body.push("struct desc_ptr gdt = { 0x17, sum }; load_gdt(&gdt);");
    else if (r < 0.38) body.push("native_irq_disable(); d->flags = 0; native_irq_enable();");
    if (r > 0.8) body.push(`if (d->next) sum += fn_${Math.max(0, f - 1)}(d->next, n - 1);`);
    if (r > 0.6) body.push(`if (sum == ${f}) printk("%s: odd state %u\\n", d->name, sum);`);
    out.push(`u32 fn_${f}(struct device *d, int n) {`, ...body.map((b) => `\t${b}`), "\treturn sum;", "}");
  }
  return out.join("\n") + "\n";
}

function compileC(dir: string, functions: number): string | undefined {
  const src = join(dir, "gen.c");
  writeFileSync(src, generateC(functions, prng(7)));
  const r = spawnSync("gcc", ["-S", "-m32", "-O2", "-g1", "-o", "-", src], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 30 });
  return r.status === 0 ? r.stdout : undefined;
}

/** 100,000 lines of real gcc -S -m32 -O2 -g output, or undefined when gcc cannot target i386 here. */
export function gccOutput(dir: string, lines: number): string | undefined {
  const probe = compileC(dir, 200);
  if (probe === undefined) return undefined;
  const perFunction = probe.split("\n").length / 200;
  const full = compileC(dir, Math.ceil((lines / perFunction) * 1.05));
  if (full === undefined) return undefined;
  const all = full.split("\n");
  return all.length >= lines ? all.slice(0, lines).join("\n") : undefined;
}

/** A faithful imitation of gcc -S -g output with inline asm, for hosts without an i386-capable gcc. */
export function syntheticGcc(lines: number, rnd: () => number): string {
  const out = ["\t.file\t\"gen.c\"", "\t.text", ".Ltext0:", "\t.file 0 \"/tmp\" \"gen.c\""];
  const app: string[][] = [
    ["\tpushf ; pop %eax"], ["\tcli"], ["\tsti"], ["\tinb %dx, %al"], ["\toutb %al, %dx"], ["\tmov %cr3, %eax"], ["\tmov %eax, %cr3"], ["\trdtsc"], ["\tlgdt 10(%esp)"],
  ];
  let f = 0;
  let c = 20;
  while (out.length < lines) {
    out.push("\t.p2align 4", `\t.globl\tfn_${f}`, `\t.type\tfn_${f}, @function`, `fn_${f}:`, `.LFB${f}:`, `\t.loc 1 ${c} 31 view -0`, "\t.cfi_startproc", "\tpushl\t%ebx", "\t.cfi_def_cfa_offset 8", "\t.cfi_offset 3, -8", "\tmovl\t8(%esp), %edx", `\t.loc 1 ${c + 1} 2 view .LVU${f * 10}`);
    for (let k = 0; k < 12; k++) out.push(`\tmovl\t${4 * k}(%edx), %eax`, `\taddl\t%eax, %ebx`, `\t.loc 1 ${c + 2} ${k + 3} is_stmt 0 view .LVU${f * 10 + 1}`);
    if (rnd() < 0.4) out.push("#APP", `# ${c + 3} "gen.c" 1`, ...app[Math.floor(rnd() * app.length)], "# 0 \"\" 2", "#NO_APP");
    out.push(`.L${f}:`, "\tmovl\t%ebx, %eax", "\tpopl\t%ebx", "\t.cfi_def_cfa_offset 4", "\tret", "\t.cfi_endproc", `.LFE${f}:`, `\t.size\tfn_${f}, .-fn_${f}`);
    f++;
    c += 9;
  }
  return out.slice(0, lines).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Edits: a client-side copy of the text, LSP ranges, and the edit script.

interface Edit {
  kind: "type" | "mnemonic" | "line";
  range: Range;
  text: string;
}

/** How each kind of edit is named in the figures. */
const EDIT_LABEL: Record<string, string> = { type: "type/delete a character", mnemonic: "instruction ↔ sensitive", line: "insert/delete a line" };

const SENSITIVE = ["cli", "sti", "pushfl", "popfl", "hlt", "movl %eax, %cr3", "inb %dx, %al", "outb %al, %dx", "lgdt gdt_descr", "rdtsc", "cpuid", "invlpg (%eax)"];
const INSERTED = ["\tsti", "\taddl $4, %esp", "\tpushfl", "\tmovl %eax, %ebx", "\tcli", "\tnop"];

/** A plain instruction line: indented, a lower-case mnemonic, not a directive, not in a macro body or #APP. */
export function instructionLines(lines: string[]): number[] {
  const out: number[] = [];
  let inMacro = false;
  let inApp = false;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i];
    if (/^\s*\.macro\b/.test(t)) inMacro = true;
    else if (/^\s*\.endm\b/.test(t)) inMacro = false;
    else if (t === "#APP") inApp = true;
    else if (t === "#NO_APP") inApp = false;
    else if (!inMacro && !inApp && /^\t[a-z][a-z0-9]*(\t| |$)/.test(t)) out.push(i);
  }
  return out;
}

export class TextBuffer {
  constructor(readonly lines: string[]) {}
  apply(e: Edit): void {
    const { start, end } = e.range;
    const merged = this.lines[start.line].slice(0, start.character) + e.text + this.lines[end.line].slice(end.character);
    this.lines.splice(start.line, end.line - start.line + 1, ...merged.split("\n"));
  }
}

function rangeOf(sl: number, sc: number, el: number, ec: number): Range {
  return { start: { line: sl, character: sc }, end: { line: el, character: ec } };
}

/** The edit script: pairs (do, undo) so the document stays realistic. The caller applies each edit to `buf` before taking the next. */
export function* editScript(buf: TextBuffer, count: number, rnd: () => number): Generator<Edit> {
  for (let i = 0; i < count / 2; i++) {
    const candidates = instructionLines(buf.lines).filter((l) => l < buf.lines.length - 1);
    const line = candidates[Math.floor(rnd() * candidates.length)];
    const text = buf.lines[line];
    const which = i % 3;
    if (which === 0) {
      // Type a character somewhere in the instruction, then delete it (backspace).
      const col = 1 + Math.floor(rnd() * (text.length - 1));
      const ch = "x1 ,%$"[Math.floor(rnd() * 6)];
      yield { kind: "type", range: rangeOf(line, col, line, col), text: ch };
      yield { kind: "type", range: rangeOf(line, col, line, col + 1), text: "" };
    } else if (which === 1) {
      // Replace the instruction (mnemonic and operands, up to a comment) with a sensitive one, then restore it.
      const indent = /^\s*/.exec(text)![0].length;
      const comment = text.search(/\s*(#|\/\*)/);
      const end = comment > indent ? comment : text.length;
      const original = text.slice(indent, end);
      const sensitive = SENSITIVE[Math.floor(rnd() * SENSITIVE.length)];
      yield { kind: "mnemonic", range: rangeOf(line, indent, line, end), text: sensitive };
      yield { kind: "mnemonic", range: rangeOf(line, indent, line, indent + sensitive.length), text: original };
    } else if (rnd() < 0.5) {
      // Insert a line after this one, then delete it again.
      const ins = INSERTED[Math.floor(rnd() * INSERTED.length)];
      yield { kind: "line", range: rangeOf(line, text.length, line, text.length), text: `\n${ins}` };
      yield { kind: "line", range: rangeOf(line, text.length, line + 1, ins.length), text: "" };
    } else {
      // Delete this line (with its line break), then undo.
      yield { kind: "line", range: rangeOf(line, 0, line + 1, 0), text: "" };
      yield { kind: "line", range: rangeOf(line, 0, line, 0), text: `${text}\n` };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

function memoryOf(pid: number | undefined): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** The fields of /proc/PID/stat after the command name (the first is the state), or [] where there is no /proc. */
function statFields(pid: number | undefined): string[] {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  } catch {
    return [];
  }
}

/** Minor page faults of a process so far, NaN where there is no /proc. */
function faultsOf(pid: number | undefined): number {
  return Number(statFields(pid)[7] ?? NaN);
}

/** CPU time (user + system) the process has used, in ms (from /proc; clock ticks of 10 ms). */
function cpuOf(pid: number | undefined): number {
  const fields = statFields(pid);
  return (Number(fields[11] ?? NaN) + Number(fields[12] ?? NaN)) * 10;
}

function quantiles(ms: number[]): { p50: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: q(0.5), p95: q(0.95), max: s[s.length - 1] };
}

const fmt = (x: number) => x.toFixed(2).padStart(7);

function canonical(d: PublishedDiagnostics): string[] {
  return d.diagnostics.map((x) => `${x.range.start.line}:${x.range.start.character}-${x.range.end.line}:${x.range.end.character} ${x.severity} ${x.code ?? ""} ${x.message}`).sort();
}

interface FileResult {
  name: string;
  lines: number;
  open: number;
  /** didOpen → the first publish (ms). */
  first: number;
  /** The first publish came from the quick scan (server/quick-open.ts). */
  quick: boolean;
  diagnostics: number;
  all: number[];
  byKind: Map<string, number[]>;
  burst: number;
  memory: { rss: number; hwm: number };
  /** Server CPU per edit (ms), over the edit replay. */
  serverCpu: number;
  /** Bytes of the last publishDiagnostics params (JSON). */
  payload: number;
  /** Minor page faults per edit: the server's, and this (client) process's. */
  faults: { server: number; client: number };
  /** Per edit: ms from sending didChange to the first byte of the publish read here (before the client's JSON parse). */
  firstBytes: number[];
  /** The same edits replayed in this process: per edit kind, p50 ms of each server step. */
  steps: Map<string, ServerStep>;
  /** In process: a character typed and deleted in the first line of each `.rept` / `.macro` body (p50, p95 ms), when the file has any. */
  loopBody: ReturnType<typeof bodyEdits>;
  macroBody: ReturnType<typeof bodyEdits>;
}

/** The server modules serverSteps times, as dist/server.js has them. */
interface ServerModules {
  OpenDocument: typeof import("../server/documents.js").OpenDocument;
  diagnosticsFor: typeof import("../server/features.js").diagnosticsFor;
  encodeMessage: typeof import("../server/diagnosticJson.js").encodeMessage;
  DEFAULT_SETTINGS: typeof DEFAULT_SETTINGS;
}
let serverModules: ServerModules | undefined;

/** Bytes in use per heap space. */
function heapSpaces(): Map<string, number> {
  return new Map(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
}

/**
 * Bytes allocated on the heap since `before` was read, when no collection ran since `gc` started
 * (then undefined): between collections every space grows by just what is allocated in it.
 */
function allocatedSince(before: Map<string, number>, gc: GCProfiler): number | undefined {
  const now = heapSpaces();
  if (gc.stop().statistics.length > 0) return undefined;
  let grown = 0;
  for (const [name, used] of now) grown += Math.max(0, used - (before.get(name) ?? 0));
  return grown;
}

/** p50 of each server step of an edit (ms), and of the bytes the whole edit allocated on the heap. */
interface ServerStep {
  analyse: number;
  diagnostics: number;
  encode: number;
  allocated: number;
}

/**
 * The server's own share of an edit: the same edit script replayed on the server's modules in this
 * process (no stdio, no client), timing the analysis, the diagnostic list and its JSON encoding apart.
 * The modules are bundled as for dist/, not run as tsx loads them (bench/lib/bundle.ts says why).
 */
function serverSteps(uri: string, text: string, seed: number): Map<string, ServerStep> {
  serverModules ??= loadBundled<ServerModules>(
    "lsp-steps",
    [
      'export { OpenDocument } from "./server/documents";',
      'export { diagnosticsFor } from "./server/features";',
      'export { encodeMessage } from "./server/diagnosticJson";',
      'export { DEFAULT_SETTINGS } from "./server/settings";',
    ].join("\n"),
  );
  const { OpenDocument, diagnosticsFor, encodeMessage, DEFAULT_SETTINGS: settings } = serverModules;
  const doc = new OpenDocument(uri, "asm", "gas-x86", 1, text, { maxLines: settings.maxAnalysisLines, includeDirs: [], mode: 32 });
  diagnosticsFor(doc, settings);
  // The script first: making it (it scans every line for instructions) is garbage this heap would
  // otherwise collect in the middle of the server's steps.
  const buf = new TextBuffer(text.split("\n"));
  const edits: Edit[] = [];
  for (const e of editScript(buf, EDITS, prng(seed))) {
    buf.apply(e);
    edits.push(e);
  }
  const times = new Map<string, { analyse: number[]; diagnostics: number[]; encode: number[]; allocated: number[] }>();
  let version = 1;
  for (const e of edits) {
    version++;
    const gc = new GCProfiler();
    const heap0 = heapSpaces();
    gc.start();
    const t0 = performance.now();
    doc.applyChanges([{ range: e.range, text: e.text }], version);
    doc.asm!.sites();
    const t1 = performance.now();
    const diagnostics = diagnosticsFor(doc, settings);
    const t2 = performance.now();
    // As the server does (server/wire.ts): the publish before has been written out.
    encodeMessage({ jsonrpc: "2.0", method: "textDocument/publishDiagnostics", params: { uri, version, diagnostics } } as Message, true);
    const t3 = performance.now();
    const grown = allocatedSince(heap0, gc);
    const k = times.get(e.kind) ?? { analyse: [], diagnostics: [], encode: [], allocated: [] };
    k.analyse.push(t1 - t0);
    k.diagnostics.push(t2 - t1);
    k.encode.push(t3 - t2);
    if (grown !== undefined) k.allocated.push(grown);
    times.set(e.kind, k);
  }
  const out = new Map<string, ServerStep>();
  for (const [k, t] of times) {
    out.set(k, { analyse: quantiles(t.analyse).p50, diagnostics: quantiles(t.diagnostics).p50, encode: quantiles(t.encode).p50, allocated: t.allocated.length > 0 ? quantiles(t.allocated).p50 : Number.NaN });
  }
  return out;
}

/**
 * Typing in a `.rept` or `.macro` body, in process: a character typed into the first line of each body
 * and deleted again, each followed by the diagnostics. A plain loop body and a macro body whose calls
 * expand it unchanged but for the edited line are patched (core/asm/document.ts); before, every such
 * keystroke re-expanded the whole file.
 */
function bodyEdits(uri: string, text: string, opener: RegExp): { p50: number; p95: number; bodies: number } | undefined {
  const { OpenDocument, diagnosticsFor, DEFAULT_SETTINGS: settings } = serverModules!;
  const lines = text.split("\n");
  const body = lines.flatMap((t, i) => (i > 0 && opener.test(lines[i - 1]) && !/^\s*\.(endr|endm)\b/.test(t) ? [i] : []));
  if (body.length === 0) return undefined;
  const doc = new OpenDocument(uri, "asm", "gas-x86", 1, text, { maxLines: settings.maxAnalysisLines, includeDirs: [], mode: 32 });
  diagnosticsFor(doc, settings);
  const ms: number[] = [];
  let version = 1;
  // At least 60 keystrokes: a file with few bodies has each typed in several times.
  for (let round = 0; round * body.length < 30; round++) {
    for (const line of body) {
      const end = lines[line].length;
      for (const [range, insert] of [[rangeOf(line, end, line, end), "x"], [rangeOf(line, end, line, end + 1), ""]] as const) {
        const t0 = performance.now();
        doc.applyChanges([{ range, text: insert }], ++version);
        diagnosticsFor(doc, settings);
        ms.push(performance.now() - t0);
      }
    }
  }
  const q = quantiles(ms);
  return { p50: q.p50, p95: q.p95, bodies: body.length };
}

/**
 * Opens a document and times it: to the first publish, and to the complete analysis (a hover request
 * sent with the didOpen is answered once the analysis exists; any publish it adds comes first).
 */
async function openTimed(client: LspClient, uri: string, text: string): Promise<{ first: number; complete: number; diagnostics: PublishedDiagnostics }> {
  const t0 = performance.now();
  const firstPublish = client.waitForDiagnostics(uri, () => true, 60_000).then(() => performance.now() - t0);
  client.open(uri, text, "gas-x86", 1);
  await client.request("textDocument/hover", { textDocument: { uri }, position: { line: 0, character: 0 } });
  const answered = performance.now() - t0;
  const first = await firstPublish;
  const last = client.published.filter((p) => p.params.uri === uri).at(-1)!;
  return { first, complete: Math.max(answered, last.at - t0), diagnostics: client.diagnostics.get(uri)! };
}

/** Whether the server publishes this document's sites from the quick scan first (its own decision, server/quick-open.ts). */
function quickApplies(uri: string, text: string): boolean {
  return quickOpenAnalysis(new URL(uri).pathname, text, countLines(text), DEFAULT_SETTINGS.maxAnalysisLines, 32) !== undefined;
}

async function benchFile(client: LspClient, name: string, uri: string, text: string, seed: number): Promise<FileResult> {
  const lines = text.split("\n");
  let t0: number;
  const { first, complete: open, diagnostics: opened } = await openTimed(client, uri, text);
  client.published.length = 0;

  const buf = new TextBuffer(lines.slice());
  const rnd = prng(seed);
  let version = 1;
  const all: number[] = [];
  const firstBytes: number[] = [];
  const byKind = new Map<string, number[]>();
  const cpu0 = cpuOf(client.process.pid);
  const serverFaults0 = faultsOf(client.process.pid);
  let clientFaults = 0;
  for (const e of editScript(buf, EDITS, rnd)) {
    buf.apply(e);
    version++;
    client.chunkTimes.length = 0;
    const f0 = ownFaults();
    t0 = performance.now();
    await client.changeAndWait(uri, version, [{ range: e.range, text: e.text }]);
    const ms = performance.now() - t0;
    clientFaults += ownFaults() - f0;
    all.push(ms);
    // Nothing else is sent meanwhile: the first chunk read after the change is the publish's first byte.
    if (client.chunkTimes.length > 0) firstBytes.push(client.chunkTimes[0] - t0);
    const k = byKind.get(e.kind) ?? [];
    k.push(ms);
    byKind.set(e.kind, k);
    client.published.length = 0;
  }

  const serverCpu = (cpuOf(client.process.pid) - cpu0) / all.length;
  const faults = { server: (faultsOf(client.process.pid) - serverFaults0) / all.length, client: clientFaults / all.length };

  // A burst: 20 characters typed with no pause (the server analyses each change, publishes only the last it has read).
  const target = instructionLines(buf.lines)[100];
  const word = " # typed fast, twenty";
  const col = buf.lines[target].length;
  t0 = performance.now();
  const lastVersion = version + 20;
  const last = client.waitForDiagnostics(uri, (d) => d.version === lastVersion);
  for (let k = 0; k < 20; k++) {
    const e: Edit = { kind: "type", range: rangeOf(target, col + k, target, col + k), text: word[k] };
    buf.apply(e);
    client.change(uri, ++version, [{ range: e.range, text: e.text }]);
  }
  const final = await last;
  const burst = performance.now() - t0;
  client.published.length = 0;
  const memory = memoryOf(client.process.pid);

  // The incremental result must equal a fresh open of the same text.
  const checkUri = uri.replace(/(\.[A-Za-z]+)$/, "-check$1");
  const fresh = (await openTimed(client, checkUri, buf.lines.join("\n"))).diagnostics;
  client.notify("textDocument/didClose", { textDocument: { uri: checkUri } });
  const a = canonical(final);
  const b = canonical(fresh);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    const diff = a.filter((x) => !b.includes(x)).slice(0, 5).concat(b.filter((x) => !a.includes(x)).slice(0, 5).map((x) => `fresh: ${x}`));
    throw new Error(`${name}: diagnostics after ${all.length + 20} edits differ from a fresh open (${a.length} vs ${b.length}):\n${diff.join("\n")}`);
  }
  client.notify("textDocument/didClose", { textDocument: { uri } });
  client.published.length = 0;
  return { name, lines: lines.length, open, first, quick: quickApplies(uri, text), diagnostics: opened.diagnostics.length, all, byKind, burst, memory, serverCpu, faults, payload: Buffer.byteLength(JSON.stringify(final)), steps: serverSteps(uri, text, seed), loopBody: bodyEdits(uri, text, /^\s*\.rept\b/), macroBody: bodyEdits(uri, text, /^\s*\.macro\b/), firstBytes };
}

async function main(): Promise<void> {
  // Measured first, while this process has touched little memory it could hand back.
  const faultMicros = pageFaultMicros();
  if (!process.env.AFTERBURN_LSP_SERVER) execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "pipe" });
  const dir = mkdtempSync(join(tmpdir(), "afterburn-lsp-bench-"));
  try {
    writeFileSync(join(dir, "bench-kernel.h"), KERNEL_HEADER);
    const kernel = generateKernel(KERNEL_LINES, prng(1));
    writeFileSync(join(dir, "entry_gen.S"), kernel);
    let gcc = gccOutput(dir, GCC_LINES);
    const gccKind = gcc !== undefined ? "gcc -S -m32 -O2 -g1 output (.file/.loc/.cfi_*, #APP/#NO_APP with line markers) of generated C with inline asm" : "synthetic gcc -S style output (gcc cannot target i386 here)";
    gcc ??= syntheticGcc(GCC_LINES, prng(2));
    writeFileSync(join(dir, "gen.s"), gcc);

    const client = await LspClient.start({ settings: {} });
    // Let start-up work (the settings pull, the deferred workspace index) finish before timing.
    await new Promise((r) => setTimeout(r, 500));
    const before = memoryOf(client.process.pid);
    const results: FileResult[] = [];
    try {
      // Warm-up: the JIT compiles the analysis on a small file first, as in any editor session after the first file.
      const warm = generateKernel(3000, prng(9));
      await client.openAndWait(pathToFileURL(join(dir, "warm.S")).href, warm, "gas-x86", 1);
      for (let v = 2; v < 40; v++) await client.changeAndWait(pathToFileURL(join(dir, "warm.S")).href, v, [{ range: rangeOf(30 + v, 0, 30 + v, 0), text: v % 2 ? "\tcli\n" : "" }]);
      client.notify("textDocument/didClose", { textDocument: { uri: pathToFileURL(join(dir, "warm.S")).href } });

      results.push(await benchFile(client, `kernel-style .S (${KERNEL_LINES.toLocaleString("en")} lines)`, pathToFileURL(join(dir, "entry_gen.S")).href, kernel, 11));
      results.push(await benchFile(client, `gcc -S output .s (${GCC_LINES.toLocaleString("en")} lines)`, pathToFileURL(join(dir, "gen.s")).href, gcc, 12));
    } finally {
      await client.stop();
    }

    console.log("afterburn-lsp over JSON-RPC stdio (dist/server.js --stdio; figures from this host, possibly under load)");
    console.log(`  this host: ${faultCost(faultMicros)}`);
    console.log("  debounce: none. The server analyses and publishes synchronously on every didOpen/didChange (no delay, no");
    console.log("  setting for one; a change already superseded by one read off the wire is not published, and analysed only when a patch can), so each");
    console.log("  figure below is the whole way: didChange sent → analysis → publish → parsed here.");
    console.log(`  gcc file: ${gccKind}`);
    console.log(`  edits per file: ${EDITS} incremental didChange, one at a time, each awaited (type a character and delete it,`);
    console.log("  instruction → a sensitive one → back, insert a line and delete it / delete a line and undo); a 3,000-line warm-up first");
    for (const r of results) {
      const q = quantiles(r.all);
      console.log(`\n  ${r.name}: ${r.diagnostics} diagnostics, ${(r.payload / 1024).toFixed(0)} KiB of JSON per publish`);
      const openTarget = r.lines >= 100_000 ? "   target ≤ 150 ms" : "";
      console.log(`    full open (didOpen → analysis complete, its diagnostics published):  ${r.open.toFixed(1)} ms${openTarget}`);
      console.log(`    first diagnostics (didOpen → first publishDiagnostics):               ${r.first.toFixed(1)} ms${r.quick ? "   (the sites, from the quick scan)" : ""}`);
      console.log(`    edit → publishDiagnostics, all ${String(r.all.length).padStart(3)}:      p50 ${fmt(q.p50)} ms  p95 ${fmt(q.p95)} ms  max ${fmt(q.max)} ms   target p95 ≤ 5 ms`);
      const fb = quantiles(r.firstBytes);
      console.log(`      of which the server's part, didChange sent → the publish's first byte read here: p50 ${fmt(fb.p50)} ms  p95 ${fmt(fb.p95)} ms  (the rest: reading and JSON-parsing ${(r.payload / 1024).toFixed(0)} KiB)`);
      for (const [k, ms] of r.byKind) {
        const s = quantiles(ms);
        const label = EDIT_LABEL[k] ?? k;
        console.log(`      ${label.padEnd(25)} ${String(ms.length).padStart(3)}:     p50 ${fmt(s.p50)} ms  p95 ${fmt(s.p95)} ms  max ${fmt(s.max)} ms`);
      }
      console.log(`    server CPU per edit (from /proc, all threads incl. GC): ${r.serverCpu.toFixed(2)} ms`);
      const faultMs = ((r.faults.server + r.faults.client) * faultMicros) / 1000;
      const cost = Number.isFinite(faultMs) ? `: about ${faultMs.toFixed(1)} ms of each edit at this host's cost` : "";
      console.log(`    page faults per edit: server ${r.faults.server.toFixed(0)}, this client ${r.faults.client.toFixed(0)} (reading and parsing the publish)${cost}`);
      console.log("    the server's own steps, the same edits replayed in this process (p50 ms; the rest is stdio and the client's JSON parse),");
      console.log("    and the heap each edit allocates (p50; it is reclaimed in young-generation pauses of a few ms each: fewer bytes, fewer pauses):");
      for (const [k, t] of r.steps) {
        const label = EDIT_LABEL[k] ?? k;
        console.log(`      ${label.padEnd(25)} analysis ${t.analyse.toFixed(2)}  diagnostics ${t.diagnostics.toFixed(2)}  JSON encoding ${t.encode.toFixed(2)}   allocated ${Number.isNaN(t.allocated) ? "(a collection in every edit)" : `${(t.allocated / 1024).toFixed(0)} KiB`}`);
      }
      for (const [what, b] of [[".rept", r.loopBody], [".macro", r.macroBody]] as const) {
        if (b !== undefined) console.log(`    typing in a ${what} body, in process (a character typed and deleted in ${b.bodies} bodies, then the diagnostics): p50 ${b.p50.toFixed(2)} ms  p95 ${b.p95.toFixed(2)} ms`);
      }
      console.log(`    burst of 20 keystrokes sent back to back → diagnostics of the last: ${r.burst.toFixed(1)} ms`);
      console.log(`    server memory with this file open: VmRSS ${r.memory.rss.toFixed(0)} MiB, peak VmHWM ${r.memory.hwm.toFixed(0)} MiB`);
    }
    console.log(`\n  server memory at start: VmRSS ${before.rss.toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
