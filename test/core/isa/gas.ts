// Test helper: assemble AT&T snippets with GNU as and return each snippet's bytes. Each snippet sits between two
// global labels, so `nm` gives its start and end offsets inside .text (objcopy -O binary gives the bytes).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Assembled {
  source: string;
  bytes: Uint8Array;
}

/** Assembles every snippet in one `as` run; throws with as's message (and the snippet list) on an error. */
export function assembleSnippets(snippets: readonly string[], mode: 32 | 64): Assembled[] {
  const dir = mkdtempSync(join(tmpdir(), "isa-gas-"));
  try {
    const src = [".text"];
    snippets.forEach((s, i) => {
      src.push(`isa_s${i}:`);
      for (const line of s.split("\n")) src.push(`\t${line}`);
      src.push(`isa_e${i}:`);
    });
    src.push("");
    const s = join(dir, "t.s");
    const o = join(dir, "t.o");
    const bin = join(dir, "t.bin");
    writeFileSync(s, src.join("\n"));
    try {
      execFileSync("as", [mode === 32 ? "--32" : "--64", "-o", o, s], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { stderr?: Buffer };
      throw new Error(`as --${mode} failed:\n${err.stderr?.toString() ?? String(e)}\nsource:\n${src.join("\n")}`);
    }
    execFileSync("objcopy", ["-O", "binary", "-j", ".text", o, bin]);
    const text = readFileSync(bin);
    const syms = new Map<string, number>();
    for (const line of execFileSync("nm", [o]).toString().split("\n")) {
      const m = /^([0-9a-f]+)\s+\w\s+(isa_[se]\d+)$/.exec(line.trim());
      if (m) syms.set(m[2]!, parseInt(m[1]!, 16));
    }
    return snippets.map((source, i) => {
      const start = syms.get(`isa_s${i}`);
      const end = syms.get(`isa_e${i}`);
      if (start === undefined || end === undefined) throw new Error(`labels for snippet ${i} not found`);
      return { source, bytes: new Uint8Array(text.subarray(start, end)) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
