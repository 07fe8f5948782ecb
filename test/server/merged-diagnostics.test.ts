// Identical sites at one invocation are published as one diagnostic with their count (server/features.ts):
// on random expansion-heavy documents, the published list is exactly each site's own diagnostic, equal
// ones counted once with their number, different ones never merged.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Diagnostic } from "vscode-languageserver";
import { OpenDocument } from "../../server/documents.js";
import { diagnosticsFor, ownSiteDiagnostic, sitesOf } from "../../server/features.js";
import { DEFAULT_SETTINGS } from "../../server/settings.js";
import { prng } from "../prng.js";

const SEED = Number(process.env.LSP_PROPERTY_SEED ?? 41);

/** A random document of macros, loops and plain lines whose expansions repeat and vary sensitive instructions. */
function randomDocument(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const insns = ["cli", "sti", "pushfl", "popfl", "hlt", "movl %eax, %cr3", "movl %eax, %cr0", "movl %cr\\a, %eax", "lgdt \\a", "inb $\\a, %al", "nop", "movl %eax, %ebx", "int $0x80", "mov %ax, %ds"];
  const out: string[] = [];
  const macros: string[] = [];
  for (let k = 0; k < 3; k++) {
    const name = `m${k}`;
    out.push(`.macro ${name} a=0`);
    for (let j = 1 + Math.floor(r() * 3); j > 0; j--) out.push(`\t${pick(insns)}`);
    if (k > 0 && r() < 0.5) out.push(`\t${macros[Math.floor(r() * macros.length)]} \\a`);
    if (r() < 0.15) out.push(`\t${name} \\a`); // a recursive macro: stopped at the nesting limit
    out.push(".endm");
    macros.push(name);
  }
  for (let n = 0; n < 12; n++) {
    const x = r();
    if (x < 0.3) out.push(`\t${pick(macros)} ${pick(["0", "3", "2", "x", "(4*2)"])}`);
    else if (x < 0.5) out.push(`.rept ${1 + Math.floor(r() * 5)}`, `\t${pick(insns).replace("\\a", "3")}`, `\t${pick(insns).replace("\\a", "0")}`, ".endr");
    else if (x < 0.65) out.push(`.irp a, ${Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(["0", "3", "4", "3"])).join(", ")}`, `\t${pick(insns)}`, ".endr");
    else if (x < 0.75) out.push(`.rept ${1 + Math.floor(r() * 3)}`, `\t${pick(macros)} ${pick(["0", "3"])}`, ".endr");
    else if (x < 0.8) out.push(`#define IRQ_PAIR ${pick(insns).replace("\\a", "3")}; ${pick(insns).replace("\\a", "3")}`, "\tIRQ_PAIR");
    else out.push(`\t${pick(insns).replace("\\a", "3")}`);
  }
  return out.join("\n");
}

/** A published diagnostic without its count, and the count (1 when none). */
function uncounted(d: Diagnostic): { key: string; count: number } {
  const m = /^(.*) — ([\d,]+) such sites here$/s.exec(d.message as string);
  const plain = m ? { ...d, message: m[1] } : d;
  return { key: JSON.stringify(plain), count: m ? Number(m[2].replace(/,/g, "")) : 1 };
}

test("merged site diagnostics are exactly the sites' own diagnostics, each distinct one once with its count", () => {
  const r = prng(SEED);
  let merged = 0;
  for (let round = 0; round < 60; round++) {
    const text = randomDocument(r);
    const doc = new OpenDocument(`file:///tmp/merge-${round}.S`, "asm", "gas-x86", 1, text, { maxLines: 200_000, includeDirs: [], mode: 32 });
    const published = diagnosticsFor(doc, DEFAULT_SETTINGS).filter((d) => d.source === "afterburn" && d.code !== "noannotate-region");
    const expected = new Map<string, number>();
    for (const site of sitesOf(doc)) {
      const own = ownSiteDiagnostic(doc, site, DEFAULT_SETTINGS);
      if (own === undefined) continue;
      const key = JSON.stringify(own);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    for (const d of published) {
      const { key, count } = uncounted(d);
      assert.ok(!got.has(key), `round ${round}: a diagnostic published twice: ${key}\n${text}`);
      got.set(key, count);
      if (count > 1) merged++;
    }
    assert.deepEqual(got, expected, `round ${round} (seed ${SEED}):\n${text}`);
  }
  assert.ok(merged > 10, `${merged} merged diagnostics in 60 documents: the generator must make some`);
});
