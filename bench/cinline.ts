// Prints the C inline-asm analysis time (core/cinline, as the language server runs it on open and on
// every edit) for files of a growing number of functions, in two shapes: each function with its own
// asm statements, each using asm helper macros (#define bodies), and templates made of string macros. Figures only, never fails on
// timing. Doubling the functions should about double the time: before the tree walks stopped asking
// web-tree-sitter for parents (core/cinline/tree-ranges.ts), it grew with the square of the file.
import { performance } from "node:perf_hooks";
import { analyseCWith } from "../core/cinline/analysis.js";
import { loadCParser } from "../core/cinline/parser.js";

const SHAPES = {
  "statements in each function": {
    head: [],
    body: (i: number) => `void f${i}(void) { unsigned long v; asm volatile("cli" ::: "memory"); asm volatile("movl %%cr3, %0" : "=r"(v)); }`,
  },
  "helper macros used in each function": {
    head: [
      '#define irq_off() asm volatile("cli" ::: "memory")',
      '#define read_cr3(v) asm volatile("movl %%cr3, %0" : "=r"(v))',
      '#define port_out(p, v) asm volatile("outb %b0, %w1" :: "a"(v), "Nd"(p))',
    ],
    body: (i: number) => `void f${i}(void) { unsigned long v; irq_off(); read_cr3(v); port_out(0x80, v); }`,
  },
  "templates from string macros": {
    head: ['#define CLI "cli"', '#define STI "sti"'],
    body: (i: number) => `void f${i}(void) { asm volatile(CLI ::: "memory"); asm volatile("nop\\n\\t" STI); }`,
  },
} as const;

function generate(functions: number, shape: keyof typeof SHAPES): string {
  const out: string[] = [...SHAPES[shape].head];
  for (let i = 0; i < functions; i++) out.push(SHAPES[shape].body(i));
  return out.join("\n") + "\n";
}

async function main(): Promise<void> {
  const cp = await loadCParser();
  console.log("C inline-asm analysis (tree-sitter parse + templates + sites), best of 5, in process:");
  for (const shape of Object.keys(SHAPES) as (keyof typeof SHAPES)[]) {
    const row: string[] = [];
    for (const n of [500, 1000, 2000, 4000]) {
      const text = generate(n, shape);
      analyseCWith(cp, text); // warm-up
      let best = Infinity;
      let sites = 0;
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        sites = analyseCWith(cp, text).sites.length;
        best = Math.min(best, performance.now() - t0);
      }
      row.push(`${n.toLocaleString("en")} functions ${best.toFixed(1)} ms (${sites.toLocaleString("en")} sites)`);
    }
    console.log(`  asm ${shape}: ${row.join(", ")}`);
  }
}

void main();
