// Afterburner throughput, and its time as a fraction of GNU as on the same large file
// (target: under 10% of as). Prints figures; never fails on timing.
//
// Two workloads of gcc -S–like 32-bit code: "dense", where one function in four holds inline-asm
// sensitive instructions (a site every ~32 lines, a worst case: the per-site work dominates), and
// "sparse", one function in 128 (closer to ordinary kernel C, where the per-line scan dominates).
//
// What is measured, per workload (best and median of interleaved rounds: each round runs every
// variant once, in rotating order, so load spikes on this shared machine hit them alike):
//   as --32            a whole process: reads the input file, writes the object file.
//   build step, now    what afterburn-cc does between gcc -S and gcc -c: read the .s file as bytes,
//                      prepareAfterburn, write the output file with writeTo (the output is never
//                      one string). Each run writes a new file, as afterburn-cc does in its fresh
//                      temporary directory.
//   build step, before what afterburn-cc did until now: readFileSync utf8, afterburn(), writeFileSync.
//   from memory        the same with the input already in memory (as gcc -S output would be if piped).
//   string API         afterburn(text) alone, no I/O: the language server's preview and the tests.
//   cold               the build step as the first and only burn in a fresh process (afterburn-cc
//                      burns one file per process: JIT and buffers cold), timed inside that process.
//   whole process      `afterburn burn IN -o OUT` from the bundled CLI, start-up included, for scale.
//   page faults        per run of the build step and of from memory, with what this host charges for
//                      one (printed first): on a VM that traps each, fresh memory dominates file → file.
// Every variant runs the afterburner as esbuild bundles it into dist/ (what afterburn-cc runs), not
// the modules as tsx loads them: tsx keeps function names with a wrapper around every closure it
// makes, which alone costs a quarter of the fast path. One line per workload prints the tsx figure.
// Last, per compile: afterburn-cc -c against gcc -c of a small C file, and node's own start-up.
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleTo } from "./lib/bundle.js";
import { faultCost, ownFaults, pageFaultMicros } from "./lib/host.js";
import * as asLoaded from "../core/burn/afterburn.js";

type Afterburner = Pick<typeof asLoaded, "afterburn" | "prepareAfterburn">;

/** Bundles core/burn/afterburn.ts with dist/'s esbuild settings into `out`. */
function bundleAfterburner(out: string): void {
  bundleTo('export * from "./core/burn/afterburn";', out);
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadBundle = (file: string): Afterburner => require(file) as Afterburner;
let { afterburn, prepareAfterburn } = asLoaded as Afterburner;

/** A gcc -S–like kernel file: functions of ordinary code; one in `every` holds inline-asm sensitive instructions. */
function generate(lines: number, every: number): string {
  const out = ['\t.file "big.c"', "\t.text"];
  let n = 0;
  const body = [
    "\tpushl\t%ebp", "\tmovl\t%esp, %ebp", "\tmovl\t8(%ebp), %eax", "\taddl\t$1, %eax", "\tmovl\t%eax, -4(%ebp)",
    "\tcmpl\t$10, %eax", "\tjle\t.L{f}", "\tleal\t0(,%eax,4), %edx", "\tmovl\tglobal_var(%edx), %ecx", "\txorl\t%ecx, %eax",
    "#APP", '# 12 "big.c" 1', "\tcli", '# 0 "" 2', "#NO_APP", ".L{f}:", "\tmovl\t%eax, %cr3", "\tpushfl", "\tpopl\t%eax",
    "\tshrl\t$3, %eax", "\ttestl\t%eax, %eax", "\tsete\t%al", "\tmovzbl\t%al, %eax", "\tpopl\t%ebp", "\tret",
  ];
  while (out.length < lines) {
    out.push(`\t.globl\tf${n}`, `\t.type\tf${n}, @function`, `f${n}:`);
    for (const l of body) {
      if (n % every !== 0 && (l === "#APP" || l.startsWith("# ") || l === "#NO_APP" || /cli|%cr3|pushfl/.test(l))) continue;
      out.push(l.replace("{f}", String(n)));
    }
    out.push(`\t.size\tf${n}, .-f${n}`);
    n++;
  }
  out.push("\t.comm\tglobal_var,4096,4", "");
  return out.join("\n");
}

/** The build step as afterburn-cc now runs it (cli/afterburn-cc.ts). */
function buildStepNow(input: string | Buffer, out: string, fileName: string, prepare = prepareAfterburn): void {
  const burn = prepare(typeof input === "string" ? readFileSync(input) : input, { mode: 32, fileName });
  const fd = openSync(out, "w");
  try {
    burn.writeTo(fd);
  } finally {
    closeSync(fd);
  }
}

/** The build step as afterburn-cc ran it before the file output existed. */
function buildStepBefore(input: string | { text: string }, out: string, fileName: string): void {
  const text = typeof input === "string" ? readFileSync(input, "utf8") : input.text;
  writeFileSync(out, afterburn(text, { mode: 32, fileName }).output);
}

// Child mode: one build step in this fresh process, timed inside it; prints the milliseconds.
if (process.argv[2] === "--cold") {
  const [, , , variant, file, out, bundle] = process.argv;
  ({ afterburn, prepareAfterburn } = loadBundle(bundle!));
  const s = process.hrtime.bigint();
  if (variant === "now") buildStepNow(file!, out!, file!);
  else buildStepBefore(file!, out!, file!);
  process.stdout.write(String(Number(process.hrtime.bigint() - s) / 1e6));
  process.exit(0);
}

interface Stats {
  best: number;
  median: number;
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { best: s[0]!, median: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2 };
}

/** Runs every variant once per round, in rotating order; returns each one's wall times in ms. */
function interleaved(rounds: number, variants: Record<string, () => void>, afterRound: () => void = () => {}): Record<string, Stats> {
  const names = Object.keys(variants);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length]!;
      const s = process.hrtime.bigint();
      variants[name]!();
      times[name]!.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    afterRound();
  }
  return Object.fromEntries(names.map((n) => [n, stats(times[n]!)]));
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`;
/** "best X (P% of as) · median Y (Q%)": each figure against as's figure of the same kind. */
function vsAs(s: Stats, as: Stats): string {
  return `best ${ms(s.best).padStart(8)} (${pct(s.best, as.best).padStart(5)} of as)  median ${ms(s.median).padStart(8)} (${pct(s.median, as.median).padStart(5)})`;
}

/** A small kernel-style C file: inline-asm helpers for flags, control registers and ports, and code using them. */
const SMALL_C = `static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline unsigned long read_cr3(void) { unsigned long v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void outb(unsigned short port, unsigned char v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline unsigned char inb(unsigned short port) { unsigned char v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
struct dev { int irq; unsigned short port; struct dev *next; };
int ticks;
int poll(struct dev *d, int n) {
\tint s = 0;
\tfor (int i = 0; i < n && d; i++, d = d->next) {
\t\tcli();
\t\ts += inb(d->port) * 3 + d->irq;
\t\tif (s > 100) outb(0x80, (unsigned char)s);
\t\tsti();
\t}
\treturn s + (int)read_cr3() + ticks;
}
`;

/**
 * What make CC=afterburn-cc pays per source file: afterburn-cc -c against gcc -c of a small file,
 * whole processes, with node's own start-up for scale (the wrapper is a node program).
 */
function perCompile(dir: string): void {
  const ccBin = join(root, "bin", "afterburn-cc.js");
  if (!existsSync(join(root, "dist", "afterburn-cc.js"))) {
    console.log("\nper compile: dist/afterburn-cc.js not built");
    return;
  }
  const src = join(dir, "small.c");
  writeFileSync(src, SMALL_C);
  const flags = ["-m32", "-O2", "-g", "-c", src, "-o", join(dir, "small.o")];
  if (spawnSync("gcc", flags).status !== 0) {
    console.log("\nper compile: gcc cannot compile -m32 here");
    return;
  }
  const t = interleaved(15, {
    gcc: () => execFileSync("gcc", flags),
    cc: () => execFileSync(process.execPath, [ccBin, ...flags], { env: { ...process.env, AFTERBURN_REAL_CC: "gcc" } }),
    node: () => execFileSync(process.execPath, ["-e", "0"]),
  });
  console.log(
    "\nper compile, a small kernel-style C file (whole processes, best / median of interleaved rounds):\n" +
      `  gcc -m32 -O2 -g -c             ${ms(t.gcc!.best).padStart(8)} / ${ms(t.gcc!.median)}\n` +
      `  afterburn-cc -m32 -O2 -g -c    ${ms(t.cc!.best).padStart(8)} / ${ms(t.cc!.median)}   (gcc -S, afterburn, gcc -c)\n` +
      `  of which node's own start-up   ${ms(t.node!.best).padStart(8)} / ${ms(t.node!.median)}   (node -e 0)`,
  );
}

/**
 * Many sites on one line, in a file the full parser takes (it has a .rept): the edits of one line
 * are written in one pass, so the time grows with the sites, not with sites × line length.
 */
function longLine(): void {
  const rows = [1000, 4000, 16000].map((n) => {
    const text = `${"\tcli ; ".repeat(n)}\n.rept 2\n\tnop\n.endr\n`;
    const t = stats(Array.from({ length: 3 }, () => {
      const s = process.hrtime.bigint();
      afterburn(text, { mode: 32 });
      return Number(process.hrtime.bigint() - s) / 1e6;
    }));
    return `${n.toLocaleString("en")} sites ${ms(t.best)}`;
  });
  console.log(`\none line of n sites, full parser (the file has a .rept), best of 3: ${rows.join(", ")}`);
}

const root = join(__dirname, "..");
const cli = join(root, "dist", "afterburn.js");
console.log(
  `load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; best and median of interleaved rounds; ` +
    "a loaded machine inflates both sides. Percentages: against as's best resp. median.",
);
const faultMicros = pageFaultMicros();
console.log(`this host: ${faultCost(faultMicros)}`);
const dir = mkdtempSync(join(tmpdir(), "ab-bench-"));
const summary: string[] = [];
const bundle = join(dir, "afterburn.bundle.js");
try {
  bundleAfterburner(bundle);
  ({ afterburn, prepareAfterburn } = loadBundle(bundle));
  for (const [workload, every] of [["dense", 4], ["sparse", 128]] as const) {
    for (const lines of [20_000, 100_000]) {
      const text = generate(lines, every);
      const bytes = Buffer.from(text);
      const file = join(dir, "big.s");
      writeFileSync(file, text);
      const burnt = afterburn(text).output;
      const sites = afterburn(text, { fileName: "big.s" }).sites.length;

      // Every run writes a file of its own (overwriting one whose last version may still be being
      // written back makes truncation wait for the disk); they are removed between rounds, untimed.
      let serial = 0;
      const fresh = () => join(dir, `out${serial++}.s`);
      const sweep = () => {
        for (let i = 0; i < serial; i++) rmSync(join(dir, `out${i}.s`), { force: true });
      };
      const variants: Record<string, () => void> = {
        as: () => execFileSync("as", ["--32", file, "-o", join(dir, "big.o")]),
        now: () => buildStepNow(file, fresh(), "big.s"),
        before: () => buildStepBefore(file, fresh(), "big.s"),
        memNow: () => buildStepNow(bytes, fresh(), "big.s"),
        memBefore: () => buildStepBefore({ text }, fresh(), "big.s"),
        string: () => afterburn(text, { fileName: "big.s" }),
        memTsx: () => buildStepNow(bytes, fresh(), "big.s", asLoaded.prepareAfterburn),
      };
      for (let i = 0; i < 3; i++) for (const [name, run] of Object.entries(variants)) if (name !== "as") run(); // warm up the JIT
      sweep();
      const t = interleaved(lines > 50_000 ? 15 : 25, variants, sweep);
      // What any transform returning the output as one string pays at least: a fresh string that size
      // (over V8's regular object size it takes freshly mapped pages).
      const half = burnt.length >> 1;
      const freshString = stats(Array.from({ length: 10 }, () => {
        const s = process.hrtime.bigint();
        void [burnt.slice(0, half), burnt.slice(half)].join("").length;
        return Number(process.hrtime.bigint() - s) / 1e6;
      }));

      // Page faults per run (fresh memory the run touches): most of what separates file → file from memory here.
      const faultsPer = (run: () => void) => {
        const f0 = ownFaults();
        for (let i = 0; i < 5; i++) run();
        return (ownFaults() - f0) / 5;
      };
      const faults = { now: faultsPer(variants.now!), memNow: faultsPer(variants.memNow!) };
      sweep();

      const cold: Record<string, number[]> = { now: [], before: [] };
      for (let r = 0; r < 5; r++) {
        for (const v of r % 2 ? ["before", "now"] : ["now", "before"]) {
          const c = spawnSync(process.execPath, [...process.execArgv, __filename, "--cold", v, file, fresh(), bundle], { encoding: "utf8" });
          const x = Number(c.stdout);
          if (c.status === 0 && Number.isFinite(x)) cold[v]!.push(x);
        }
      }
      sweep();
      let whole: Stats | undefined;
      if (existsSync(cli)) {
        whole = stats(Array.from({ length: 3 }, () => {
          const s = process.hrtime.bigint();
          execFileSync(process.execPath, [cli, "burn", "-q", file, "-o", join(dir, "whole.s")]);
          return Number(process.hrtime.bigint() - s) / 1e6;
        }));
        unlinkSync(join(dir, "whole.s"));
      }

      const as = t.as!;
      const mb = bytes.length / 1e6;
      console.log(
        `\n${workload} ${lines.toLocaleString("en")} lines (${mb.toFixed(1)} MB in, ${(Buffer.byteLength(burnt) / 1e6).toFixed(1)} MB out, ${sites} sites)\n` +
          `  as --32, whole process             best ${ms(as.best).padStart(8)}               median ${ms(as.median).padStart(8)}\n` +
          `  build step, now (file → file)      ${vsAs(t.now!, as)}   ${Math.round(lines / (t.now!.best / 1000)).toLocaleString("en")} lines/s\n` +
          `  build step, before (string output) ${vsAs(t.before!, as)}\n` +
          `  from memory, now (bytes → file)    ${vsAs(t.memNow!, as)}\n` +
          `    page faults per run: file → file ${faults.now.toFixed(0)}, from memory ${faults.memNow.toFixed(0)}` +
          (Number.isFinite(faultMicros) ? ` (${((faults.now * faultMicros) / 1000).toFixed(1)} and ${((faults.memNow * faultMicros) / 1000).toFixed(1)} ms at this host's cost)\n` : "\n") +
          `  from memory, before (text → file)  ${vsAs(t.memBefore!, as)}\n` +
          `  string API afterburn(text), no I/O ${vsAs(t.string!, as)}   (a fresh string the output's size alone: ${ms(freshString.best)})\n` +
          `  from memory, as tsx loads the code ${vsAs(t.memTsx!, as)}   (not what users run; see the head of this file)\n` +
          (cold.now!.length && cold.before!.length
            ? `  cold (one burn in a fresh process) now best ${ms(stats(cold.now!).best)} median ${ms(stats(cold.now!).median)}; before best ${ms(stats(cold.before!).best)} median ${ms(stats(cold.before!).median)}\n`
            : "  cold: child runs failed\n") +
          (whole ? `  whole process \`afterburn burn -o\` (node start-up included) best ${ms(whole.best)} median ${ms(whole.median)}` : "  whole process: dist/afterburn.js not built"),
      );
      const share = (x: Stats) => `${pct(x.best, as.best)} / ${pct(x.median, as.median)}`;
      summary.push(`  ${`${workload} ${lines / 1000}k`.padEnd(12)} before ${share(t.before!).padEnd(14)} now ${share(t.now!).padEnd(14)} string API ${share(t.string!)}`);
    }
  }
  console.log("\nafterburn-cc's build step (read .s, afterburn, write .s) as a share of as --32, best / median:");
  for (const line of summary) console.log(line);
  longLine();
  perCompile(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
