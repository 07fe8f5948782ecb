// The README's main job: build the example guests with CC=afterburn-cc (afterburned), then boot
// each on the bundled PC with `afterburn run`, comparing its console and exit status with the
// expected ones (the same files QEMU is checked against).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAnnotationRecords, readElf } from "../../core/toolchain/index.js";
import { buildGuests, elfPath, loadGuests } from "../examples/guests.js";

const root = join(__dirname, "..", "..");
const afterburn = join(root, "bin", "afterburn.js");
const out = mkdtempSync(join(tmpdir(), "ab-run-"));
test.after(() => rmSync(out, { recursive: true, force: true }));

function run(args: string[]) {
  return spawnSync(process.execPath, [afterburn, "run", ...args], { encoding: "utf8", timeout: 120_000 });
}

test("every example builds with CC=afterburn-cc, carries .afterburn records, and runs to its expected output", async () => {
  await buildGuests(out, { cc: join(root, "bin", "afterburn-cc.js") });
  for (const g of loadGuests()) {
    const elf = elfPath(out, g.name);
    const records = readAnnotationRecords(readElf(readFileSync(elf), elf));
    assert.ok(records.length > 0, `${g.name}: no .afterburn records`);
    const r = run([elf]);
    assert.equal(r.stdout, g.expectedOutput, `${g.name}: console differs\n${r.stderr}`);
    assert.equal(r.status, g.expectedExit, `${g.name}: exit status\n${r.stderr}`);
    assert.match(r.stderr, /guest exited with status \d+; [\d,]+ instructions/);
  }
});

test("runs are deterministic, --json reports the same run", async () => {
  const elf = elfPath(out, "interrupts");
  const a = JSON.parse(run([elf, "--json"]).stdout);
  const b = JSON.parse(run([elf, "--json"]).stdout);
  assert.equal(a.schema, "afterburn-run");
  assert.equal(a.reason, "exit");
  assert.equal(a.instructions, b.instructions);
  assert.equal(a.console, b.console);
});

test("a guest that never stops ends at --max-instructions with status 124; bad input is named", () => {
  const dir = mkdtempSync(join(tmpdir(), "ab-run-bad-"));
  try {
    const loop = join(dir, "loop.s");
    writeFileSync(loop, ".globl _start\n_start: jmp _start\n");
    spawnSync("as", ["--32", loop, "-o", join(dir, "loop.o")]);
    spawnSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", join(dir, "loop.o"), "-o", join(dir, "loop.elf")]);
    const r = run([join(dir, "loop.elf"), "--max-instructions", "100000"]);
    assert.equal(r.status, 124, r.stderr);
    assert.match(r.stderr, /100,000 instructions/);
    writeFileSync(join(dir, "garbage.elf"), "this is not an ELF file at all");
    const g = run([join(dir, "garbage.elf")]);
    assert.equal(g.status, 3);
    assert.match(g.stderr, /garbage\.elf: not an ELF file/);
    const u = run([join(dir, "loop.elf"), "--backend", "xen"]);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /needs the wedge/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
