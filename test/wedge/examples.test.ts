// The example guests, afterburned with afterburn-cc, on every backend: identical console output and exit status
// on raw, vtx, xen and l4; on trap the holes guest reports its holes at the sites of the sensitive-unprivileged
// instructions; page-table writes are seen on the pre-virtualized backends; snapshots restore the whole guest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAnnotationRecords, readElf } from "../../core/toolchain/index.js";
import { loadGuest, type BackendName, type Guest } from "../../wedge/index.js";
import { buildGuests, elfPath, loadGuests, type GuestName } from "../examples/guests.js";

const root = join(__dirname, "..", "..");
const out = mkdtempSync(join(tmpdir(), "wedge-examples-"));
test.after(() => rmSync(out, { recursive: true, force: true }));
const built = buildGuests(out, { cc: join(root, "bin", "afterburn-cc.js"), jobs: 2 });

function boot(name: GuestName, backend: BackendName): { guest: Guest; console: () => string } {
  let text = "";
  const path = elfPath(out, name);
  const guest = loadGuest(readFileSync(path), { backend, fileName: path, onSerial: (s) => (text += s) });
  return { guest, console: () => text };
}

test("every example prints the same and exits the same on raw, vtx, xen and l4", async () => {
  await built;
  for (const g of loadGuests()) {
    for (const backend of ["raw", "vtx", "xen", "l4"] as const) {
      const { guest, console } = boot(g.name, backend);
      const r = guest.run({ maxInstructions: 500_000_000 });
      assert.equal(console(), g.expectedOutput, `${g.name} on ${backend}: ${r.message}`);
      assert.equal(r.reason, "exit", `${g.name} on ${backend}`);
      assert.equal(r.exitCode, g.expectedExit, `${g.name} on ${backend}`);
      const rep = guest.report();
      assert.equal(rep.missedSites.length, 0, `${g.name} on ${backend}: every sensitive instruction was annotated`);
      assert.equal(rep.holes.length, 0);
      if (backend === "xen" || backend === "l4") {
        const records = readAnnotationRecords(readElf(readFileSync(elfPath(out, g.name)), g.name));
        assert.equal(guest.sites.length, records.length, `${g.name}: one rewritten site per record`);
        assert.ok(rep.cycles > rep.instructions, `${g.name} on ${backend}: the wedge's work is priced`);
      }
    }
  }
});

test("trap: the holes guest reports its holes at the sensitive-unprivileged sites", async () => {
  await built;
  const { guest, console } = boot("holes", "trap");
  assert.equal(guest.run({ maxInstructions: 500_000_000 }).reason, "exit");
  const rep = guest.report();
  const records = new Set(readAnnotationRecords(readElf(readFileSync(elfPath(out, "holes")), "holes")).map((r) => r.start));
  const ids = new Set(rep.holes.map((h) => h.catalogueId));
  for (const id of ["pushf", "popf", "smsw", "sgdt", "sidt", "str", "sldt", "mov-from-sreg"]) assert.ok(ids.has(id), `a ${id} hole (${[...ids]})`);
  for (const h of rep.holes) {
    assert.ok(records.has(h.address), `hole at 0x${h.address.toString(16)} is an annotated site`);
    assert.ok(h.file?.endsWith("x86.h") && h.line !== undefined, `hole located in x86.h: ${JSON.stringify(h)}`);
    assert.equal(rep.sites.find((s) => s.address === h.address)?.catalogueId, h.catalogueId);
  }
  // What the guest printed follows the holes (the guest only observes).
  assert.match(console(), /sgdt shows our GDT: no/);
  assert.match(console(), /mov %cs shows CPL: 1/);
  assert.match(console(), /pushf after cli shows IF clear: no/);
  // The instructions that fault deprivileged are traps, not holes.
  assert.ok((rep.events.trap?.count ?? 0) > 0);
});

test("paging: unannotated page-table writes are caught by the fault path on xen and l4", async () => {
  await built;
  for (const backend of ["xen", "l4"] as const) {
    const { guest } = boot("paging", backend);
    assert.equal(guest.run({ maxInstructions: 500_000_000 }).reason, "exit");
    const rep = guest.report();
    assert.ok(rep.events.exception?.count === 1, `${backend}: the guest's one #PF`);
    const state = guest.backendState();
    assert.ok(Number(state["page-table pages watched"]) >= 2, JSON.stringify(state));
  }
  const { guest } = boot("paging", "xen");
  const writes: string[] = [];
  guest.onEvent((e) => {
    if (e.detail.includes("page-table write")) writes.push(e.detail);
  });
  guest.run({ maxInstructions: 500_000_000 });
  assert.ok(writes.length >= 1, "the PTE change and the fault handler's mapping are page-table writes");
  assert.match(writes[0]!, /writable page tables/);
});

test("snapshot and restore put machine, wedge and ledger back", async () => {
  await built;
  const { guest, console } = boot("interrupts", "xen");
  assert.equal(guest.run({ maxInstructions: 6000 }).reason, "budget");
  const snap = guest.snapshot();
  const at = console().length;
  const events: string[] = [];
  const off = guest.onEvent((e) => events.push(`${e.kind}@${e.site}`));
  guest.run({ maxInstructions: 500_000_000 });
  const first = { tail: console().slice(at), report: guest.report(), events: events.slice() };
  guest.restore(snap);
  events.length = 0;
  const at2 = console().length;
  guest.run({ maxInstructions: 500_000_000 });
  off();
  assert.equal(console().slice(at2), first.tail);
  assert.deepEqual(guest.report(), first.report);
  assert.deepEqual(events, first.events);
  assert.ok(guest.vcpu() && "vIF" in guest.vcpu()!);
});
