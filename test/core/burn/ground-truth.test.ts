// Ground truth from tools nobody here wrote: compile a kernel-style corpus with plain gcc and with
// afterburn-cc and check the objects against each other (truth.ts: objdump + iced-x86 find every
// sensitive instruction; each has exactly one .afterburn record over it and its NOP padding).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAnnotationRecords } from "../../../core/toolchain/index.js";
import { checkAfterburnedObject } from "./truth.js";

const root = join(__dirname, "..", "..", "..");
const corpus = join(__dirname, "corpus");
const ccWrapper = join(root, "bin", "afterburn-cc.js");
const CFLAGS = ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-nostdlib", "-I", corpus, "-I", join(root, "include")];

function modesOf(file: string): (32 | 64)[] {
  const m = /modes:\s*([\d ]+)/.exec(readFileSync(join(corpus, file), "utf8").split("\n")[0]);
  assert.ok(m, `${file}: first line must say "modes: 32 64" or "modes: 32"`);
  return m[1].trim().split(/\s+/).map((x) => Number(x) as 32 | 64);
}

const files = readdirSync(corpus).filter((f) => f.endsWith(".c") || f.endsWith(".S")).sort();

test("dist bundle of afterburn-cc exists (npm test builds it)", () => {
  assert.ok(existsSync(join(root, "dist", "afterburn-cc.js")), "run `npm run build` first");
});

for (const file of files) {
  for (const mode of modesOf(file)) {
    test(`${file} -m${mode}: one record per sensitive instruction, padding is NOPs, no stray records`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "ab-truth-"));
      try {
        const src = join(corpus, file);
        const plain = join(dir, "plain.o");
        const burnt = join(dir, "burnt.o");
        execFileSync("gcc", [`-m${mode}`, ...CFLAGS, "-c", src, "-o", plain]);
        execFileSync(process.execPath, [ccWrapper, `-m${mode}`, ...CFLAGS, "-c", src, "-o", burnt], {
          env: { ...process.env, AFTERBURN_SITES: "1" },
        });

        const sites = JSON.parse(readFileSync(`${burnt}.sites.json`, "utf8")).sites as { id: string; annotated: boolean }[];
        const { elf, burntAll, sensitive } = await checkAfterburnedObject(plain, burnt, sites, mode);
        assert.ok(sensitive > 0, "the corpus file has sensitive instructions");

        // Memory-operation annotations land in their own section and cover a store.
        const pte = readAnnotationRecords(elf, ".afterburn.pte_set");
        for (const r of pte) {
          const insn = burntAll.find((i) => i.section === r.section && i.offset === r.start);
          assert.ok(insn && /^mov/.test(insn.text), `.afterburn.pte_set record at ${r.start} does not start at a mov`);
        }
        if (file === "entry.S") assert.equal(pte.length, 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
