// Inputs the burn tests share: random compiler-style text, random token soup, hand-written edge
// cases, input only the full parser handles, and gcc -S output of the burn corpus and the example
// guests. Generated from fixed seeds: every run sees the same inputs.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CATALOGUE } from "../../../core/isa/index.js";

const root = join(__dirname, "..", "..", "..");
const corpus = join(__dirname, "corpus");

export interface Input {
  name: string;
  text: string;
  mode: 32 | 64;
}

export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

export const SPELLINGS = [...new Set(CATALOGUE.flatMap((e) => [...e.mnemonics]))];
export const EXAMPLES = CATALOGUE.flatMap((e) => [e.example.att32, e.example.att64].filter((x): x is string => x !== undefined));

/** Lines as gcc, hand-written kernels and inline asm write them; `{}` is replaced by a counter. */
export const TEMPLATES = [
  "\tmovl\t%eax, %ebx", "\tmovl\t8(%ebp), %eax", "\tpushl\t%ebp", "\tpopl\t%ebp", "\tret", "\tleal\t0(,%eax,4), %edx",
  "\tmovl\t%eax, %cr3", "\tmovl\t%cr0, %eax", "\tmov %cr4, %rax", "\tmovq %rax, %cr8", "\tmovl %db7, %eax", "\tmovl %eax,%dr6",
  "\tmovw\t%ax, %ds", "\tmovw %fs, %ax", "\tmovl %fs:4(%eax), %ebx", "\tpushl %fs", "\tpopl %gs", "\tpush %es", "\tpopw %ss",
  "\tmovl %esp, %esi", "\tpushl %esi", "\tMOVL %EAX, %CR3", "\tMovl %Cr0, %eax", "\tPUSHL %DS", "\tcli", "\tsti", "\tCLI", "\thlt",
  "\tpushfl", "\tpopfl", "\tinb $0x60, %al", "\toutb %al, %dx", "\tinl (%dx), %eax", "\trep outsb", "\trep; insl", "\tlock incl (%eax)",
  "\tlcall $0x10, $f", "\tljmp *(%eax)", "\tlret $4", "\tiret", "\tint $0x80", "\tint3", "\tcpuid", "\trdtsc", "\twrmsr", "\tswapgs",
  "\tlgdt gdt_desc", "\tlidtl (%eax)", "\tsgdt (%eax)", "\tstr %ax", "\tlar %eax, %ebx", "\tlsll %eax, %ebx", "\tverr %ax", "\tclts",
  "\tinvlpg (%eax)", "\twbinvd", "\tsysenter", "\tud2", "\tmovl %eax, %ebx # cli", "\tmovl %eax, %ebx # %cr0", "\tmovl $1, %eax; cli",
  "cli; sti", "1: cli", "f{}: sti", ".L{}: movl %eax, %cr3", "f{}:", ".L{}:", "1:", "2: 3: hlt", "\tjmp 1b", "\tjmp 1f",
  "\t.text", "\t.data", "\t.bss", '\t.section .fixup,"ax"', '\t.section ".text.unlikely","ax",@progbits', "\t.section", "\t.previous",
  "\t.pushsection .x{}", "\t.popsection", '\t.pushsection ".y"', "\t.code16", "\t.code32", "\t.code64", "\t.code16gcc",
  '\t.file "t.c"', '\t.file 1 "a.c"', '\t.file 2 "b/c.h"', "\t.loc 1 {} 3", "\t.loc 2 {} 0", "\t.loc 1 {}", "\t.loc 9 {} 1",
  "#APP", "#NO_APP", '# {} "drv.c" 1', '# 0 "" 2', "# {}", "#line {}", '#line {} "x.S"', "# a comment", "#APP ", "  #NO_APP",
  '\t.string "a;b cli"', '\t.ascii "%cr0"', "\t.long 1, 2", "\t.globl f{}", "\t.type f{}, @function", "\t.size f{}, .-f{}",
  "\t.afterburn_noannotate", "\t.afterburn_annotate", "\t.afterburn_memop pte_set", "\t.afterburn_memop pte_test_clear, 2",
  "\t.AFTERBURN_NOANNOTATE", "\t.afterburn_memop nosuch", "\t.afterburn_memop lapic_write, 9", "x = 5", "x{} = . - f{}", ". = 0x100",
  "\t{disp32} movl %eax, %ebx", "\t%fs: movl (%eax), %ebx", "\tdata16 lgdt (%eax)", "\tcs lcall *(%eax)", "\trex.w sysret",
  "", "   ", "\t", "\t# comment only", "/ slash comment", "\tmovl\t%eax, -4(%ebp)\t", "\tcmpl\t$10, %eax",
  "\\bad", "f\u00e9{}: cli", "\tcli /* c */", "/* cli", "*/ sti", "/* x */ hlt", "\tmovl %eax, /* %cr3 */ %ebx", "\tmovl %eax /* x */, %cr0",
  "#define N {}", "#undef N", "#define M(a) a \\", "\tcli /* one */ /* two */", "\tnop @x", "\tcall *%eax", "\tlcallw *%cs:(%eax)", "\tpush %cs", "\tpopl (%eax)",
];

export function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** Lines of compiler-style templates and catalogue examples, sometimes upper-cased, with \n or \r\n. */
export function compilerStyleInputs(): Input[] {
  const inputs: Input[] = [];
  for (let n = 0; n < 400; n++) {
    const rnd = random(1000 + n);
    const lines: string[] = [];
    const count = 5 + Math.floor(rnd() * 80);
    for (let i = 0; i < count; i++) {
      let l = rnd() < 0.1 ? "\t" + pick(rnd, EXAMPLES) : pick(rnd, TEMPLATES);
      l = l.replace(/\{\}/g, String(i + 1));
      if (rnd() < 0.05) l = l.toUpperCase();
      lines.push(l);
    }
    const eol = rnd() < 0.15 ? "\r\n" : "\n";
    const text = lines.join(eol) + (rnd() < 0.5 ? eol : "");
    inputs.push({ name: `case ${n}`, text, mode: rnd() < 0.3 ? 64 : 32 });
  }
  return inputs;
}

export const SOUP_TOKENS = [
  ...SPELLINGS, "movl", "mov", "pushl", "popl", "%cr0", "%cr3", "%cr8", "%db7", "%dr0", "%fs", "%gs", "%ds:", "%esp", "%eax", "%dx", "(%dx)",
  "$1", "$0x10,", ",", ";", ":", "#", "# 3 \"a.c\"", "#APP", "#NO_APP", "1:", "1b", "f:", ".L1:", "*", "(", ")", "\"", "'", "\\", "\t", " ",
  ".text", ".data", ".section", ".pushsection", ".popsection", ".previous", ".code16", ".code64", ".loc", ".file", "\"x.c\"",
  ".afterburn_memop", "pte_set", ".afterburn_noannotate", ".afterburn_annotate", "lock", "rep", "data16", "{disp8}", "=", "\u00e9",
  "/*", "*/", "/* x */", "#define", "#undef", "\\",
];

/** Random lines of tokens (from SOUP_TOKENS unless given). */
export function tokenSoupInputs(tokens: readonly string[] = SOUP_TOKENS, seed = 50_000, count = 600): Input[] {
  const inputs: Input[] = [];
  for (let n = 0; n < count; n++) {
    const rnd = random(seed + n);
    const lines: string[] = [];
    for (let i = 0, count = 1 + Math.floor(rnd() * 30); i < count; i++) {
      let l = "";
      for (let k = 0, w = Math.floor(rnd() * 7); k < w; k++) l += pick(rnd, tokens) + (rnd() < 0.7 ? " " : "");
      lines.push(l);
    }
    const text = lines.join(rnd() < 0.1 ? "\r\n" : "\n");
    inputs.push({ name: `soup ${n}`, text, mode: rnd() < 0.3 ? 64 : 32 });
  }
  return inputs;
}

/** What the fast path does not model: these go to the full parser. */
export const FULL_PARSE_CASES = [
  ".macro m\ncli\n.endm\nm\n", ".rept 2\ncli\n.endr\n", ".irp r,a,b\ncli\n.endr\n", ".if 0\ncli\n.endif\nsti\n",
  ".ifdef X\ncli\n.else\nsti\n.endif\n", "#if 0\ncli\n#endif\n", "#ifdef X\ncli\n#endif\n", "cli\rsti\r", "f: .macro m\nhlt\n.endm\n", "nop; .rept 3\ncli\n.endr\n", "x: .IF 1\ncli\n.ENDIF\n",
];

/** Hand-written edge cases the fast path takes. */
export const EDGE_CASES = [
  '.section ".fixup","ax"\ncli\n.text\n.text\n.previous\nsti\n',
  ".text\n.section .a\n.section .a\n.previous\nhlt\n.pushsection\ncli\n.popsection\n.popsection\nsti\n",
  "# comment \\\ncli\nsti\n", '# 5 "a.c" 1 \\\ncli\nsti\n',
  ".afterburn_memop pte_set\n\n.L1:\n\t.p2align 4\n\tmovl %edx, (%eax)\n\tmovl %edx, 4(%eax)\n",
  ".afterburn_memop pte_test_clear, 2\nlock btrl $0, (%eax)\nsbbl %eax, %eax\nmovl %eax, %ebx\n",
  ".afterburn_memop pte_test_clear, 2\n.afterburn_memop nosuch\nmovl %eax, %ebx\npushl %ebp\nret\n",
  ".afterburn_memop lapic_write, 8\n" + "nop\n".repeat(7) + "movl %eax, (%ebx)\nmovl %eax, 4(%ebx)\n",
  '\t.file 1 "a.c"\n\t.loc 1 5 0\n\t.loc 1 6 2\n\t.file 2 "b.c"\n\t.loc 2 7 1\n\tcli\n\t.loc 3 8 1\n\tsti\n',
  '\t.loc 1 5 0\n\t.file 1 "late.c"\n\tcli\n',
  "cli\r\n.section .x\r\nsti\r\n", ".text\nf:\n\tcli", "cli\n\n\n", "\n", "",
  "#define CR 3\nmovl %eax, %cr3\n", "# define X \\\ncli\nsti\n", "#define Y 1 \\\n  + 2 \\\n  hlt\nsti\n",
  "cli /* x */\n", "/* cli */ sti\n", "/*\ncli\n*/ hlt\nsti\n", "movl %eax, %ebx /* start\n\tmovl %eax, %cr3\n end */ movl %cr0, %eax\n",
  "/* a */ cli /* b */ ; /* c */ sti\n", '.ascii "/*"\ncli\n', "# 3 \"a.c\" /* x\ny */\ncli\n", "#APP\n/*\n#NO_APP\n*/\ncli\n",
  "/* never closed\ncli\n",
];

/** Lines repeated in different contexts (the fast path parses each distinct line once). */
export const REPEATED_CASES = [
  '# 5 "a.c" 1\n\tcli\n# 0 "" 2\n\tcli\n# 5 "a.c" 1\n\n\tcli\n',
  "\tcli; sti\n.code64\n\tcli; sti\n.section .x\n\tcli; sti\n.previous\n\tcli; sti\n",
  "\tmovl %eax, %ebx /* open\n\tcli */ sti\n\tmovl %eax, %ebx /* open\n\tcli */ sti\n",
  "#define X \\\n\tcli\n#define X \\\n\tcli\n\tcli\n",
  ".afterburn_memop pte_set\n\tmovl %edx, (%eax)\n\tmovl %edx, (%eax)\n.afterburn_memop pte_set\n\tmovl %edx, (%eax)\n",
  "\tmovl %eax, %cr3\n".repeat(5) + ".afterburn_noannotate\n" + "\tmovl %eax, %cr3\n".repeat(2) + ".afterburn_annotate\n\tmovl %eax, %cr3\n",
];

/** gcc -S output of the burn corpus (each file in its modes, at -O2, -O0 -g and -Os -g) and of the example guests. */
export function gccInputs(): Input[] {
  const inputs: Input[] = [];
  const cc = (file: string, args: string[]) => execFileSync("gcc", [...args, "-ffreestanding", "-fno-pic", "-I", corpus, "-I", join(root, "include"), "-I", join(root, "examples", "lib"), "-S", "-o", "-", file], { encoding: "utf8" });
  for (const f of readdirSync(corpus).filter((x) => x.endsWith(".c"))) {
    const m = /modes:\s*([\d ]+)/.exec(readFileSync(join(corpus, f), "utf8").split("\n")[0]!);
    for (const mode of (m?.[1]?.trim().split(/\s+/).map(Number) ?? [32]) as (32 | 64)[]) {
      for (const extra of [["-O2"], ["-O0", "-g"], ["-Os", "-g"]]) inputs.push({ name: `${f} -m${mode} ${extra.join(" ")}`, text: cc(join(corpus, f), [`-m${mode}`, ...extra]), mode });
    }
  }
  const examples = join(root, "examples");
  for (const dir of readdirSync(examples, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(join(examples, dir.name)).filter((x) => x.endsWith(".c"))) {
      inputs.push({ name: `examples/${dir.name}/${f}`, text: cc(join(examples, dir.name, f), ["-m32", "-O2", "-g"]), mode: 32 });
    }
  }
  return inputs;
}
