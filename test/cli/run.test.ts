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

test("runs are deterministic, --json reports the same run (schema afterburn-run version 2)", async () => {
  const elf = elfPath(out, "interrupts");
  const a = JSON.parse(run([elf, "--json"]).stdout);
  const b = JSON.parse(run([elf, "--json"]).stdout);
  assert.equal(a.schema, "afterburn-run");
  assert.equal(a.version, 2);
  assert.equal(a.runs.length, 1);
  assert.equal(a.runs[0].backend, "raw");
  assert.equal(a.runs[0].result.reason, "exit");
  assert.equal(a.runs[0].result.instructions, b.runs[0].result.instructions);
  assert.equal(a.runs[0].console, b.runs[0].console);
  assert.equal(a.runs[0].ledger.schema, "afterburn-ledger");
});

test("--backend all --json: the same console on raw, vtx, xen and l4, a ledger and the overhead vs raw per backend", () => {
  const g = loadGuests().find((x) => x.name === "interrupts")!;
  const r = run([elfPath(out, "interrupts"), "--backend", "all", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.runs.map((x: { backend: string }) => x.backend), ["raw", "trap", "vtx", "xen", "l4"]);
  for (const x of doc.runs) {
    assert.equal(x.ledger.backend, x.backend);
    assert.equal(x.ledger.version, 1);
    if (x.backend !== "trap") assert.equal(x.console, g.expectedOutput, x.backend);
    if (x.backend === "raw") assert.equal(x.overheadVsRaw, undefined);
    else assert.ok(x.overheadVsRaw > 0, `${x.backend} costs more than raw`);
  }
  const xen = doc.runs.find((x: { backend: string }) => x.backend === "xen");
  assert.ok(xen.ledger.events.hypercall.count > 0 && xen.ledger.events.inline.count > 0);
  assert.ok(xen.ledger.sites[0].file.endsWith(".S") || xen.ledger.sites[0].file.endsWith(".h") || xen.ledger.sites[0].file.endsWith(".c"));
  const vtx = doc.runs.find((x: { backend: string }) => x.backend === "vtx");
  assert.ok(vtx.ledger.events["vm-exit"].count > 0);
});

test("run builds guest sources itself: an examples-style directory on every backend, side by side", () => {
  const g = loadGuests().find((x) => x.name === "hello")!;
  const r = run([join(root, "examples", "hello"), "--backend", "all"]);
  assert.equal(r.status, g.expectedExit, r.stderr);
  assert.equal(r.stdout, g.expectedOutput, "the console once (the raw run streams it)");
  assert.match(r.stderr, /raw\s+trap\s+vtx\s+xen\s+l4/);
  assert.match(r.stderr, /console\s+reference\s+same\s+same\s+same\s+same/);
  assert.match(r.stderr, /vs raw\s+—\s+\+[\d.]+%/);
  const x = run([join(root, "examples", "hello", "hello.S"), "--backend", "xen"]);
  assert.equal(x.stdout, g.expectedOutput);
  assert.match(x.stderr, /ledger \(xen\): [\d,]+ modelled cycles/);
  assert.match(x.stderr, /top sites:\n\s+0x[0-9a-f]{8} out-\w+ .*hello\.S:\d+/);
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
    const x = run([join(dir, "loop.elf"), "--max-instructions", "100000", "--backend", "xen"]);
    assert.equal(x.status, 124, x.stderr);
    writeFileSync(join(dir, "garbage.elf"), "this is not an ELF file at all");
    const g = run([join(dir, "garbage.elf")]);
    assert.equal(g.status, 3);
    assert.match(g.stderr, /garbage\.elf: neither an ELF file nor a guest source/);
    const u = run([join(dir, "loop.elf"), "--backend", "kvm"]);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown backend 'kvm'/);
    const v = run([join(dir, "loop.elf"), "--backend", "vtx", "--vtx", "bogus=on"]);
    assert.equal(v.status, 2);
    assert.match(v.stderr, /unknown VT-x control 'bogus'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
