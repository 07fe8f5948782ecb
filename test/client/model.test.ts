// The extension's plain modules: run JSON parsing, the trap tree model and the Compare Backends page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLedgerEvents, parseLedgerReport, parseRunJson, RunJsonError, siteLabel, type LedgerReport } from "../../client/model/ledger";
import { describeNode, kindChildren, SITES_LISTED, TrapLedgerModel } from "../../client/model/trapTree";
import { compareHtml, cyclesChart, escapeHtml, eventsChart, topSites } from "../../client/model/compareHtml";

function report(backend: string, over: Partial<LedgerReport> = {}): LedgerReport {
  return {
    schema: "afterburn-ledger",
    version: 1,
    backend,
    instructions: 1000,
    cycles: 5400,
    events: { trap: { count: 3, cycles: 3000 }, hole: { count: 1, cycles: 0 }, hypercall: { count: 2, cycles: 2400 } },
    sites: [
      { address: 0x100010, symbol: "_start+0x10", file: "/src/hello.S", line: 12, catalogueId: "cli", mnemonic: "cli", events: { trap: 2 }, cycles: 2000 },
      { address: 0x100020, symbol: "puts+0x4", file: "/src/hello.S", line: 40, catalogueId: "out-dx", mnemonic: "outb", events: { trap: 1, hypercall: 2 }, cycles: 3400 },
    ],
    missedSites: [],
    holes: [{ address: 0x100030, file: "/src/hello.S", line: 50, catalogueId: "pushf", detail: "pushf reveals IF=0 inside the guest" }],
    ...over,
  };
}

test("parseRunJson reads version 2 (one run per backend, with the ledger)", () => {
  const text = JSON.stringify({
    schema: "afterburn-run",
    version: 2,
    program: "hello.elf",
    runs: [
      { backend: "raw", result: { reason: "exit", exitCode: 0, instructions: 900, message: "exit 0" }, console: "hi\n", ledger: report("raw", { events: {}, sites: [], holes: [] }) },
      { backend: "trap", result: { reason: "exit", exitCode: 0, instructions: 1000, message: "exit 0" }, console: "hi\n", ledger: report("trap"), overheadVsRaw: 2.5 },
    ],
  });
  const r = parseRunJson(text);
  assert.equal(r.program, "hello.elf");
  assert.deepEqual(r.runs.map((x) => x.backend), ["raw", "trap"]);
  assert.equal(r.runs[1]!.ledger!.sites[1]!.events.hypercall, 2);
  assert.equal(r.runs[1]!.overheadVsRaw, 2.5);
});

test("parseRunJson reads version 1 (the raw run before the wedge) as one run without a ledger", () => {
  const r = parseRunJson(JSON.stringify({ schema: "afterburn-run", version: 1, backend: "raw", program: "p.elf", console: "x", reason: "halt", exitCode: null, message: "halted", instructions: 7 }));
  assert.equal(r.runs.length, 1);
  assert.equal(r.runs[0]!.result.reason, "halt");
  assert.equal(r.runs[0]!.ledger, undefined);
});

test("parseRunJson names what is wrong", () => {
  assert.throws(() => parseRunJson(""), (e: Error) => e instanceof RunJsonError && /not JSON.*empty output/.test(e.message));
  assert.throws(() => parseRunJson("afterburn: cannot read x.elf"), /not JSON.*cannot read x\.elf/);
  assert.throws(() => parseRunJson(JSON.stringify({ schema: "other" })), /not an "afterburn-run" document/);
  assert.throws(() => parseRunJson(JSON.stringify({ schema: "afterburn-run", version: 3 })), /version 3 is not supported/);
  assert.throws(
    () => parseRunJson(JSON.stringify({ schema: "afterburn-run", version: 2, program: "p", runs: [{ backend: "raw", result: { reason: "exit" }, ledger: { schema: "afterburn-ledger", version: 1, backend: "raw", events: { trap: { count: "many", cycles: 1 } } } }] })),
    /runs\[0\]\.ledger\.events\.trap\.count: expected a number/,
  );
});

test("parseLedgerReport keeps unknown event kinds out; parseLedgerEvents drops malformed events", () => {
  const r = parseLedgerReport({ ...report("xen"), events: { hypercall: { count: 1, cycles: 5 }, "future-kind": { count: 9, cycles: 9 } } });
  assert.deepEqual(Object.keys(r.events), ["hypercall"]);
  const ev = parseLedgerEvents({ backend: "xen", events: [{ kind: "hypercall", site: 16, detail: "d", cycles: 5, instruction: 3 }, { kind: "nonsense", site: 1 }, null, { kind: "trap" }] });
  assert.deepEqual(ev, { backend: "xen", events: [{ kind: "hypercall", site: 16, catalogueId: undefined, detail: "d", cycles: 5, instruction: 3 }] });
  assert.equal(parseLedgerEvents({ events: [] }), undefined);
});

test("trap tree from a report: backend → kind → site, with counts and cycles", () => {
  const m = new TrapLedgerModel();
  m.setReport(report("trap"));
  const [b] = m.tree();
  assert.equal(b!.backend, "trap");
  assert.equal(b!.cycles, 5400);
  assert.deepEqual(b!.kinds.map((k) => [k.kind, k.count, k.cycles]), [["trap", 3, 3000], ["hypercall", 2, 2400], ["hole", 1, 0]]);
  const traps = b!.kinds[0]!.sites;
  // A site with one kind carries its cycles; one with several kinds shows its total only.
  assert.deepEqual(traps.map((s) => [s.mnemonic, s.count, s.cycles, s.siteCycles]), [["outb", 1, undefined, 3400], ["cli", 2, 2000, 2000]]);
  const hole = b!.kinds[2]!.sites[0]!;
  assert.equal(hole.line, 50);
  assert.match(hole.detail!, /pushf reveals IF=0/);
  const d = describeNode(traps.find((s) => s.mnemonic === "cli")!);
  assert.equal(d.label, "hello.S:12 cli");
  assert.equal(d.description, "2× · 2,000 cycles");
  assert.match(describeNode(b!).description, /6 events · 5,400 cycles \(last run\)/);
});

test("a kind with thousands of sites lists the costliest SITES_LISTED and sums the rest in one row", () => {
  const m = new TrapLedgerModel();
  const n = SITES_LISTED + 700;
  const sites = Array.from({ length: n }, (_, i) => ({ address: 0x100000 + 4 * i, catalogueId: "cli", mnemonic: "cli", events: { trap: 1 + (i % 3) }, cycles: 1000 * (1 + (i % 3)) + i }));
  m.setReport(report("trap", { sites, holes: [], events: { trap: { count: sites.reduce((t, x) => t + x.events.trap, 0), cycles: 0 } } }));
  const traps = m.tree()[0]!.kinds[0]!;
  assert.equal(traps.sites.length, n, "the model keeps every site");
  const rows = kindChildren(traps);
  assert.equal(rows.length, SITES_LISTED + 1);
  const listed = rows.slice(0, SITES_LISTED);
  const more = rows[SITES_LISTED]!;
  assert.equal(more.type, "more");
  if (more.type !== "more") return;
  assert.equal(more.sites, 700);
  // Listed and summed up add to the kind's count; the listed ones are the costliest.
  assert.equal(listed.reduce((t, r) => t + (r.type === "site" ? r.count : 0), 0) + more.count, traps.count);
  const cheapestListed = Math.min(...listed.map((r) => (r.type === "site" ? r.cycles! : Infinity)));
  assert.ok(traps.sites.slice(SITES_LISTED).every((x) => x.cycles! <= cheapestListed));
  assert.equal(describeNode(more).label, "… 700 more sites");
  // A kind within the limit lists every site and no summary row.
  m.setReport(report("trap"));
  assert.deepEqual(kindChildren(m.tree()[0]!.kinds[0]!).map((r) => r.type), ["site", "site"]);
});

test("trap tree live: events accumulate per site; a report replaces them; each event after it counts", () => {
  const m = new TrapLedgerModel();
  let changes = 0;
  m.onChange(() => changes++);
  m.startSession("xen");
  m.addEvents("xen", [
    { kind: "hypercall", site: 0x100020, detail: "console_io", cycles: 1200, instruction: 10 },
    { kind: "hypercall", site: 0x100020, detail: "console_io", cycles: 1200, instruction: 20 },
    { kind: "inline", site: 0x100010, catalogueId: "cli", detail: "vcpu.if=0", cycles: 4, instruction: 30 },
  ]);
  let [b] = m.tree();
  assert.equal(b!.live, true);
  assert.deepEqual(b!.kinds.map((k) => [k.kind, k.count, k.cycles]), [["hypercall", 2, 2400], ["inline", 1, 4]]);
  assert.equal(b!.kinds[0]!.sites[0]!.file, undefined, "no location before a report");
  // The stop's report covers the first 30 instructions (the adapter sends the events it counts before it).
  m.setReport(report("xen", { instructions: 30, cycles: 2404, events: { hypercall: { count: 2, cycles: 2400 }, inline: { count: 1, cycles: 4 } }, holes: [], sites: [
    { address: 0x100020, file: "/src/hello.S", line: 40, catalogueId: "out-dx", mnemonic: "outb", events: { hypercall: 2 }, cycles: 2400 },
    { address: 0x100010, file: "/src/hello.S", line: 12, catalogueId: "cli", mnemonic: "cli", events: { inline: 1 }, cycles: 4 },
  ] }), "debug");
  // The instruction the stop was before runs when the guest goes on: same count as the report's, yet new.
  m.addEvents("xen", [
    { kind: "hypercall", site: 0x100020, detail: "console_io", cycles: 1200, instruction: 30 },
    { kind: "hypercall", site: 0x100020, detail: "console_io", cycles: 1200, instruction: 40 },
  ]);
  [b] = m.tree();
  const hc = b!.kinds.find((k) => k.kind === "hypercall")!;
  assert.equal(hc.count, 4);
  assert.equal(hc.cycles, 4800);
  assert.equal(hc.sites[0]!.line, 40, "location from the report");
  assert.equal(hc.sites[0]!.count, 4);
  assert.equal(b!.live, true);
  // A plain run on the same backend shows until the session reports again; its figures get no live events.
  m.setReport(report("xen", { instructions: 500, cycles: 9000, holes: [], sites: [] }), "run");
  m.addEvents("xen", [{ kind: "hypercall", site: 0x100020, detail: "console_io", cycles: 1200, instruction: 50 }]);
  assert.equal(m.tree()[0]!.live, false);
  assert.equal(m.tree()[0]!.kinds.find((k) => k.kind === "hypercall")?.count ?? 0, report("xen", { instructions: 500, cycles: 9000, holes: [], sites: [] }).events.hypercall?.count ?? 0);
  m.setReport(report("xen", { instructions: 60, cycles: 2404, holes: [], sites: [] }), "debug");
  assert.equal(m.tree()[0]!.live, true, "the session's next report is live again");
  m.endSession("xen");
  assert.equal(m.tree()[0]!.live, false);
  // A new session (another guest, same addresses): the last guest's locations do not label its sites.
  m.startSession("xen");
  m.addEvents("xen", [{ kind: "inline", site: 0x100010, catalogueId: "sti", detail: "vcpu.if=1", cycles: 4, instruction: 5 }]);
  assert.equal(m.tree()[0]!.kinds[0]!.sites[0]!.file, undefined);
  assert.equal(m.location(0x100010, "xen"), undefined);
  assert.ok(changes >= 4);
});

test("Compare Backends page: charts per backend, top sites, escaped text, no script", () => {
  const run = parseRunJson(JSON.stringify({
    schema: "afterburn-run",
    version: 2,
    program: "<guest>.elf",
    runs: [
      { backend: "raw", result: { reason: "exit", exitCode: 0, instructions: 900, message: "" }, console: "hi\n", ledger: report("raw", { cycles: 0, events: {}, sites: [], holes: [] }) },
      { backend: "trap", result: { reason: "exit", exitCode: 0, instructions: 1000, message: "" }, console: "hi?\n", ledger: report("trap"), overheadVsRaw: 2.5 },
      { backend: "xen", result: { reason: "exit", exitCode: 0, instructions: 950, message: "" }, console: "hi\n", ledger: report("xen", { cycles: 2700, holes: [] }), overheadVsRaw: 1.2 },
    ],
  }));
  const cycles = cyclesChart(run);
  assert.equal((cycles.match(/<g class="bar"/g) ?? []).length, 3);
  // trap has the most cycles: the longest bar.
  const widths = [...cycles.matchAll(/data-backend="(\w+)"><text[^>]*>\w+<\/text><rect x="\d+" y="\d+" width="(\d+)"/g)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(widths.map((w) => w[0]), ["raw", "trap", "xen"]);
  assert.ok((widths[1]![1] as number) > (widths[2]![1] as number) && (widths[2]![1] as number) > (widths[0]![1] as number));
  // overheadVsRaw 2.5 is 2.5 times raw's cycles more than raw: 3.5 times raw.
  assert.match(cycles, /3\.50× raw/);
  assert.match(cycles, /2\.20× raw/);
  const events = eventsChart(run);
  assert.match(events, /data-kind="trap"/);
  // Every legend item fits the chart's width (720): long lists wrap onto more rows.
  const every = eventsChart(parseRunJson(JSON.stringify({
    schema: "afterburn-run", version: 2, program: "g.elf",
    runs: [{ backend: "xen", result: { reason: "exit", exitCode: 0, instructions: 1, message: "" }, console: "", ledger: report("xen", {
      events: Object.fromEntries(["trap", "vm-exit", "hypercall", "ipc", "wedge-call", "inline", "hole", "missed-site", "exception"].map((k) => [k, { count: 1, cycles: 1 }])),
    }) }],
  })));
  const items = [...every.matchAll(/<rect x="(\d+)" y="(\d+)" width="12" height="12"[^>]*\/><text x="\d+" y="\d+">([^<]+)<\/text>/g)];
  assert.ok(items.length >= 8, `${items.length} legend items`);
  for (const m of items) assert.ok(Number(m[1]) + 24 + m[3]!.length * 7 <= 720, `${m[3]} at x=${m[1]} fits`);
  assert.ok(new Set(items.map((m) => m[2])).size > 1, "the legend wraps");
  assert.match(events, /data-kind="hypercall"/);
  const sites = topSites(run);
  assert.equal(sites[0]!.mnemonic, "outb");
  assert.equal(sites[0]!.total, 6800);
  const html = compareHtml(run, { cspSource: "vscode-webview:" });
  assert.ok(!/<script/i.test(html));
  assert.match(html, /&lt;guest&gt;\.elf/);
  assert.match(html, /differs from raw/);
  assert.match(html, /pushf reveals IF=0/);
  assert.equal(escapeHtml(`<a href="x">'&`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
});

test("siteLabel prefers file:line, then symbol, then the address", () => {
  assert.equal(siteLabel({ address: 1, file: "/a/b/c.S", line: 3 }), "c.S:3");
  assert.equal(siteLabel({ address: 1, symbol: "f+0x2" }), "f+0x2");
  assert.equal(siteLabel({ address: 0x1000 }), "0x00001000");
});
