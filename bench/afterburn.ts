// Afterburner throughput, and its time as a fraction of GNU as on the same large file
// (target: under 10% of as). Prints figures; never fails on timing.
//
// Two workloads of gcc -S–like 32-bit code: "dense", where one function in four holds inline-asm
// sensitive instructions (a site every ~32 lines, a worst case: the per-site work dominates), and
// "sparse", one function in 128 (closer to ordinary kernel C, where the per-line scan dominates).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { afterburn } from "../core/burn/afterburn.js";

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

function best(runs: number, fn: () => void): number {
  return bestWithCpu(runs, fn).wall;
}

/** Best wall time and best CPU time (user + system of this process, GC threads included) over the runs, in ms. */
function bestWithCpu(runs: number, fn: () => void): { wall: number; cpu: number } {
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < runs; i++) {
    const u = process.cpuUsage();
    const s = process.hrtime.bigint();
    fn();
    wall = Math.min(wall, Number(process.hrtime.bigint() - s) / 1e6);
    const d = process.cpuUsage(u);
    cpu = Math.min(cpu, (d.user + d.system) / 1000);
  }
  return { wall, cpu };
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} (figures are best-of-n wall times; a loaded machine inflates both sides)`);
const dir = mkdtempSync(join(tmpdir(), "ab-bench-"));
try {
  for (const [workload, every] of [["dense", 4], ["sparse", 128]] as const) {
    for (const lines of [20_000, 100_000]) {
      const text = generate(lines, every);
      const file = join(dir, "big.s");
      writeFileSync(file, text);
      for (let i = 0; i < 3; i++) afterburn(text); // warm up the JIT
      let sites = 0;
      const burn = bestWithCpu(10, () => {
        sites = afterburn(text, { fileName: "big.s" }).sites.length;
      });
      const asMs = best(5, () => execFileSync("as", ["--32", file, "-o", join(dir, "big.o")]));
      const burnt = afterburn(text).output;
      // What any transform returning the output as one string pays at least: a fresh string that size
      // (over V8's regular object size it takes freshly mapped pages, a large part of the figure here).
      const half = burnt.length >> 1;
      const freshMs = best(10, () => [burnt.slice(0, half), burnt.slice(half)].join(""));
      writeFileSync(join(dir, "burnt.s"), burnt);
      const asBurntMs = best(3, () => execFileSync("as", ["--32", join(dir, "burnt.s"), "-o", join(dir, "burnt.o")]));
      const mb = Buffer.byteLength(text) / 1e6;
      console.log(
        `${workload} ${lines.toLocaleString("en")} lines (${mb.toFixed(1)} MB, ${sites} sites): afterburn ${burn.wall.toFixed(1)} ms ` +
          `(cpu ${burn.cpu.toFixed(1)} ms; ${Math.round(lines / (burn.wall / 1000)).toLocaleString("en")} lines/s, ${(mb / (burn.wall / 1000)).toFixed(1)} MB/s); ` +
          `as --32 ${asMs.toFixed(1)} ms on the input, ${asBurntMs.toFixed(1)} ms on the afterburned output; ` +
          `afterburn / as = ${((100 * burn.wall) / asMs).toFixed(1)}% ` +
          `(of which at least ${freshMs.toFixed(1)} ms = ${((100 * freshMs) / asMs).toFixed(1)}% is making a fresh string the output's size)`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
