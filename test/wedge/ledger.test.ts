// The ledger against hand counts on tiny guests: a loop of N cli/sti pairs is N inline executions of each on xen
// and l4, no VM exit at those sites on vtx, N traps each on trap and nothing on raw; an unannotated cli is a missed
// site with its address and source line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAnnotationRecords, readElf } from "../../core/toolchain/index.js";
import { loadGuest } from "../../wedge/index.js";
import { buildTiny, EXIT, runTiny, STACK } from "./tiny.js";

const dir = mkdtempSync(join(tmpdir(), "wedge-ledger-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const N = 37;
const loop = `\t.text\n\t.globl _start\n_start:\n${STACK}\tmovl $${N}, %ecx\n1:\tcli\n\tsti\n\tloop 1b\n${EXIT}`;

test("N cli/sti pairs: N inline executions per site on xen and l4, no exits at them on vtx, N traps each on trap", () => {
  const t = buildTiny(dir, "clisti", loop);
  const records = readAnnotationRecords(readElf(t.bytes, t.elf));
  assert.equal(records.length, 3, "cli, sti and the exit port's out are annotated");
  const [cliAt, stiAt] = records.map((r) => r.start);

  for (const backend of ["xen", "l4"] as const) {
    const { guest, reason } = runTiny(t, backend);
    assert.equal(reason, "exit", backend);
    const rep = guest.report();
    assert.equal(rep.events.inline?.count, 2 * N, `${backend}: inline executions`);
    const site = (a: number) => rep.sites.find((s) => s.address === a);
    assert.equal(site(cliAt!)?.events.inline, N, `${backend}: cli site`);
    assert.equal(site(stiAt!)?.events.inline, N, `${backend}: sti site`);
    assert.equal(site(cliAt!)?.catalogueId, "cli");
    assert.equal(rep.missedSites.length, 0);
    // The exit port's out is the one call-out: a wedge call to the device model.
    assert.equal(rep.events["wedge-call"]?.count, 1, `${backend}: the out to the exit port`);
    assert.equal(guest.sites.filter((s) => s.rewrite === "inline").length, 2);
  }

  const vtx = runTiny(t, "vtx").guest.report();
  assert.equal(vtx.sites.find((s) => s.address === cliAt)?.events["vm-exit"] ?? 0, 0);
  assert.equal(vtx.sites.find((s) => s.address === stiAt)?.events["vm-exit"] ?? 0, 0);
  assert.equal(vtx.events["vm-exit"]?.count, 1, "only the out to the exit port exits (unconditional I/O exiting)");

  const trap = runTiny(t, "trap").guest.report();
  assert.equal(trap.sites.find((s) => s.address === cliAt)?.events.trap, N);
  assert.equal(trap.sites.find((s) => s.address === stiAt)?.events.trap, N);

  const raw = runTiny(t, "raw").guest.report();
  assert.deepEqual(raw.events, {});
  assert.equal(raw.cycles, raw.instructions, "raw: one modelled cycle per instruction, nothing else");
  const xen = runTiny(t, "xen").guest.report();
  assert.equal(xen.cycles, xen.instructions + 2 * N * 6 + 40, "xen: instructions + 2N inline (6) + one wedge call (40)");
});

test("vtx controls decide the exits: with unconditional I/O exiting off the out does not exit", () => {
  const t = buildTiny(dir, "clisti2", loop);
  let console = "";
  const g = loadGuest(t.bytes, { backend: "vtx", fileName: t.elf, vtx: { unconditionalIoExiting: false }, onSerial: (s) => (console += s) });
  assert.equal(g.run({ maxInstructions: 1_000_000 }).reason, "exit");
  assert.equal(g.report().events["vm-exit"], undefined);
  assert.equal(g.backendState().unconditionalIoExiting, false);
  assert.throws(() => loadGuest(t.bytes, { backend: "vtx", vtx: { noSuchControl: true } }), /unknown VT-x control/);
});

test("an unannotated cli under xen and l4 is a missed site with its address and source line", () => {
  // Assembled without the afterburner: no record, no padding. The sti and the exit port's out are missed too.
  const src = `\t.text\n\t.globl _start\n_start:\n${STACK}\tnop\n\tcli\n\tsti\n${EXIT}`;
  const t = buildTiny(dir, "missed", src, { burn: false });
  assert.equal(readAnnotationRecords(readElf(t.bytes, t.elf)).length, 0);
  for (const backend of ["xen", "l4"] as const) {
    const { guest, reason } = runTiny(t, backend);
    assert.equal(reason, "exit");
    const rep = guest.report();
    assert.equal(rep.missedSites.length, 3, backend);
    const m = rep.missedSites[0]!;
    assert.equal(m.address, 0x100006, "movl $0x90000,%esp (5 bytes), nop, then the cli");
    assert.equal(m.symbol, "_start+0x6");
    assert.ok(m.file?.endsWith("missed.s") && m.line !== undefined, JSON.stringify(m));
    const line = readFileSync(m.file!, "utf8").split("\n")[m.line! - 1];
    assert.match(line!, /^\tcli$/);
    assert.equal(rep.events["missed-site"]?.count, 3);
    assert.deepEqual(rep.sites.find((s) => s.address === m.address)?.events, { "missed-site": 1 });
  }
  // Without a wedge there is no notion of a missed site.
  assert.equal(runTiny(t, "vtx").guest.report().missedSites.length, 0);
});

test("memory annotations are call-outs: mmu_update on xen, an unmap on l4; the stores land as on bare metal", () => {
  const src =
    `\t.text\n\t.globl _start\n_start:\n${STACK}\tmovl $0x200000, %eax\n\tmovl $0x1234, %edx\n` +
    `\t.afterburn_memop pte_set\n\tmovl %edx, (%eax)\n` +
    `\t.afterburn_memop pte_test_clear, 2\n\tlock btrl $4, (%eax)\n\tsbbl %ecx, %ecx\n` +
    // exit 0 only when the store landed, bit 4 was cleared and sbb saw it set
    `\tmovl (%eax), %eax\n\tcmpl $0x1224, %eax\n\tjne 1f\n\tcmpl $-1, %ecx\n\tjne 1f\n${EXIT}1:\tmovl $7, %eax\n\toutl %eax, $0xf4\n`;
  const t = buildTiny(dir, "memop", src);
  const elf = readElf(t.bytes, t.elf);
  const memoryRecords = elf.sections.filter((s) => s.name.startsWith(".afterburn.")).flatMap((s) => readAnnotationRecords(elf, s.name));
  assert.ok(memoryRecords.length >= 2);
  for (const backend of ["raw", "xen", "l4"] as const) {
    const { guest, reason, exit } = runTiny(t, backend);
    assert.equal(reason, "exit", backend);
    assert.equal(exit, 0, `${backend}: the annotated stores had their bare-metal effect`);
    const rep = guest.report();
    if (backend === "raw") continue;
    const kind = backend === "xen" ? "hypercall" : "ipc";
    assert.equal(rep.events[kind]?.count, memoryRecords.length, `${backend}: one ${kind} per memory site`);
    const pte = rep.sites.find((s) => s.catalogueId === "memory:pte_set")!;
    assert.match(pte.mnemonic, /^mov %edx,\(%eax\)$/);
    assert.equal(guest.sites.find((s) => s.catalogueId === "memory:pte_set")?.rewrite, "call");
  }
  const xen = runTiny(t, "xen").guest.report();
  assert.ok(xen.sites.some((s) => s.catalogueId === "memory:pte_set" && s.events.hypercall === 1));
});
