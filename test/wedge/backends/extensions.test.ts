// Catalogued instructions of later extensions (xsetbv, xgetbv, xsaves/xrstors, invpcid, wbnoinvd, monitor/mwait,
// clac/stac) in a guest kernel, afterburned, on every backend. The bundled CPU offers none of their features, so
// each raises #UD, which the guest's handler skips: every backend prints the same. The ledger shows what each
// backend's hardware does: on trap and vtx the #UD comes before any privilege check or VM exit (no trap, no exit
// at the site; the trap VMM reflects the #UD once); on xen and l4 the site is a call-out whose stub raises it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const afterburn = join(__dirname, "..", "..", "..", "bin", "afterburn.js");

const SITES: [string, string][] = [
  ["xsetbv", "xsetbv"],
  ["xgetbv", "xgetbv"],
  ["xsaves", "xsaves (%%eax)"],
  ["xrstors", "xrstors (%%eax)"],
  ["invpcid", "invpcid (%%eax), %%ebx"],
  ["wbnoinvd", "wbnoinvd"],
  ["monitor", "monitor"],
  ["mwait", "mwait"],
  ["clac", "clac"],
  ["stac", "stac"],
];
/** ud2 after them: a trap the VMM reflects itself (its #UD is that trap, not a second one). */
const ALL: [string, string][] = [...SITES, ["ud2", "ud2"]];

const GUEST = `#include "guest.h"
static char area[1024] __attribute__((aligned(64)));
${ALL.map(([id]) => `extern char at_${id}[], after_${id}[];`).join("\n")}
static const struct { const char *name; char *at, *after; } sites[] = {
${ALL.map(([id]) => `  { "${id}", at_${id}, after_${id} },`).join("\n")}
};
static void on_ud(struct trapframe *tf) {
  for (unsigned k = 0; k < sizeof sites / sizeof sites[0]; k++) {
    if (tf->eip == (uint32_t)sites[k].at) { kprintf("#UD at %s\\n", sites[k].name); tf->eip = (uint32_t)sites[k].after; return; }
  }
  kprintf("#UD elsewhere: %x\\n", tf->eip);
  tf->eip += 2;
}
uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic; (void)mbinfo;
  gdt_load(); idt_load();
  trap_set_handler(6, on_ud);
${ALL.map(([id, text]) => `  __asm__ volatile("at_${id}: ${text}\\n after_${id}:" :: "a"(area), "c"(0), "d"(0) : "ebx", "memory");`).join("\n")}
  kprintf("done\\n");
  return 0;
}
`;

interface Row {
  catalogueId: string;
  events: Record<string, number>;
}
interface Run {
  backend: string;
  result: { reason: string; exitCode?: number };
  console: string;
  ledger: { events: Record<string, { count: number }>; sites: Row[]; missedSites: unknown[] };
}

test("later extensions: #UD on every backend, no trap or VM exit before it, call-outs on xen and l4", () => {
  const dir = mkdtempSync(join(tmpdir(), "ext-"));
  try {
    mkdirSync(join(dir, "ext"));
    writeFileSync(join(dir, "ext", "ext.c"), GUEST);
    const r = spawnSync(process.execPath, [afterburn, "run", join(dir, "ext"), "--backend", "all", "--json"], { encoding: "utf8", timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    const runs = (JSON.parse(r.stdout) as { runs: Run[] }).runs;
    const expected = ALL.map(([id]) => `#UD at ${id}\n`).join("") + "done\n";
    assert.deepEqual(runs.map((x) => x.backend), ["raw", "trap", "vtx", "xen", "l4"]);
    const ids = new Set(SITES.map(([id]) => id));
    for (const run of runs) {
      assert.equal(run.console, expected, run.backend);
      assert.equal(run.result.reason, "exit", run.backend);
      assert.equal(run.ledger.missedSites.length, 0, `${run.backend}: every site annotated`);
      const rows = run.ledger.sites.filter((s) => ids.has(s.catalogueId));
      if (run.backend === "trap" || run.backend === "vtx") {
        // #UD first: nothing at the sites themselves; trap reflects each #UD once.
        assert.deepEqual(rows, [], `${run.backend}: no trap or exit at a feature-gated site`);
        if (run.backend === "trap") {
          assert.equal(run.ledger.events.exception?.count, SITES.length, "one reflection per #UD, none more for ud2's");
          assert.deepEqual(run.ledger.sites.filter((s) => s.catalogueId === "ud2").map((s) => s.events), [{ trap: 1 }]);
        }
      }
      if (run.backend === "xen" || run.backend === "l4") {
        assert.deepEqual(new Set(rows.map((s) => s.catalogueId)), ids, `${run.backend}: every site is a call-out`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
