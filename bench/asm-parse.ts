// Prints core/asm parse throughput: a generated 100,000-line gcc -S style file, parsed whole
// and opened as an AsmDocument, then one-line edits applied through AsmDocument.
import { performance } from "node:perf_hooks";
import { AsmDocument, parseAsm } from "../core/asm/index.js";

function generate(lines: number): string {
  const body = [
    "\tpushl\t%ebp",
    "\tmovl\t%esp, %ebp",
    "\tsubl\t$24, %esp",
    "\tmovl\t8(%ebp), %eax",
    "\tmovl\t%eax, -12(%ebp)",
    "\tleal\t0(,%eax,4), %edx",
    "\tmovl\tglobal_counter, %ecx",
    "\tcmpl\t$0, -12(%ebp)",
    "\tje\t.L3",
    "\tcall\tprintk",
    "#APP",
    "# 42 \"kernel/irq.c\" 1",
    "\tcli",
    "# 0 \"\" 2",
    "#NO_APP",
    ".L3:",
    "\t.cfi_def_cfa_offset 8",
    "\tmovl\t%gs:20, %eax",
    "\tleave",
    "\tret",
  ];
  const out: string[] = ["\t.file\t\"gen.c\"", "\t.text"];
  let f = 0;
  while (out.length < lines) {
    out.push(`\t.globl\tfn${f}`, `\t.type\tfn${f}, @function`, `fn${f}:`);
    for (const l of body) out.push(l.replace(".L3", `.L${f}`));
    out.push(`\t.size\tfn${f}, .-fn${f}`);
    f++;
  }
  return out.slice(0, lines).join("\n");
}

const N = 100_000;
const text = generate(N);
for (let i = 0; i < 3; i++) parseAsm(text); // warm up the JIT

let t0 = performance.now();
const cpu0 = process.cpuUsage();
const file = parseAsm(text);
const cpu = process.cpuUsage(cpu0);
let t1 = performance.now();
console.log(`parseAsm: ${N} lines in ${(t1 - t0).toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU (${Math.round(N / ((t1 - t0) / 1000)).toLocaleString("en")} lines/s), ${file.statements.length} statements`);

t0 = performance.now();
const doc = new AsmDocument(text, { fileName: "gen.s" });
void doc.statements;
t1 = performance.now();
console.log(`AsmDocument open + analysis: ${(t1 - t0).toFixed(1)} ms`);

const samples: number[] = [];
for (let k = 0; k < 20; k++) {
  const line = 1000 + k * 4000;
  t0 = performance.now();
  doc.applyChange(line, line + 1, ["\tsti # edited"]);
  void doc.statements;
  samples.push(performance.now() - t0);
}
samples.sort((a, b) => a - b);
console.log(`one-line edit (same line count), re-lex + re-analysis: median ${samples[10].toFixed(2)} ms, max ${samples[19].toFixed(2)} ms`);

const ins: number[] = [];
for (let k = 0; k < 20; k++) {
  const line = 1000 + k * 4000;
  t0 = performance.now();
  doc.applyChange(line, line, ["\tcli"]);
  void doc.statements;
  ins.push(performance.now() - t0);
}
ins.sort((a, b) => a - b);
console.log(`one-line insert (lines shift), re-lex + re-analysis: median ${ins[10].toFixed(2)} ms, max ${ins[19].toFixed(2)} ms`);

t0 = performance.now();
doc.applyChange(5, 6, ["/* open comment"]);
const relexed = doc.lastRelexed;
void doc.statements;
t1 = performance.now();
console.log(`edit that opens a block comment to EOF: ${relexed} lines re-lexed in ${(t1 - t0).toFixed(1)} ms`);
