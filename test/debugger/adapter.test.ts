// The debug adapter end to end: dist/debugger.js over stdio, the example guests built with the
// afterburner (-g, so DWARF line tables are there).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { readAnnotationRecords, readElf, readLineTable } from "../../core/toolchain/index.js";
import { loadGuest } from "../examples/guests.js";
import { adapterSuite, hexOf, lineOf, source } from "./harness.js";

const suite = adapterSuite();
const client = suite.client;

const HELLO_S = source("hello/hello.S");
const INTERRUPTS_C = source("interrupts/interrupts.c");


describe("debug adapter on the raw backend", () => {
  it("stops on entry, hits a source breakpoint in a .S file, steps by line and by instruction", async () => {
    const c = client();
    const line = lineOf(HELLO_S, "movl $msg_cpuid, %esi");
    const { event, breakpoints } = await c.launch({ program: suite.elfs().hello, stopOnEntry: true }, { breakpoints: [{ path: HELLO_S, lines: [line] }] });
    assert.equal(event.event, "stopped");
    assert.equal(event.body.reason, "entry");
    assert.equal(breakpoints[0][0].verified, true);
    assert.equal(breakpoints[0][0].line, line);
    const entry = await c.top();
    assert.equal(entry.name, "_start");
    assert.equal(entry.line, lineOf(HELLO_S, "movl $stack_top, %esp"));

    const hit = await c.continue();
    assert.equal(hit.body.reason, "breakpoint");
    assert.deepEqual(hit.body.hitBreakpointIds, [breakpoints[0][0].id]);
    let top = await c.top();
    assert.equal(top.source?.name, "hello.S");
    assert.equal(top.line, line);
    assert.equal(c.output, "Hello from an afterburned kernel\nmultiboot magic: ok\n");

    // next: the following line (a call to puts is stepped over as part of its own line later)
    await c.act(() => c.dc.nextRequest({ threadId: 1 }));
    top = await c.top();
    assert.equal(top.line, line + 1);
    // step in: into puts
    await c.act(() => c.dc.stepInRequest({ threadId: 1 }));
    const frames = await c.frames();
    assert.equal(frames[0].name, "puts");
    assert.equal(frames[1].name, "_start");
    assert.equal(frames[1].line, line + 1);
    // one instruction: lodsb is one byte long
    const before = parseInt(frames[0].instructionPointerReference!, 16);
    const dis = await c.dc.disassembleRequest({ memoryReference: hexOf(before), instructionCount: 2 });
    assert.match(dis.body!.instructions[0].instruction, /^lods/);
    await c.act(() => c.dc.stepInRequest({ threadId: 1, granularity: "instruction" }));
    const regs = await c.registers();
    assert.equal(parseInt(regs.eip.value, 16), before + 1);
    assert.equal(dis.body!.instructions[1].address, hexOf(before + 1));
    // step out: back in _start after the call
    await c.act(() => c.dc.stepOutRequest({ threadId: 1 }));
    top = await c.top();
    assert.equal(top.name, "_start");
    assert.ok(c.output.endsWith("cpuid max basic leaf >= 1: "), JSON.stringify(c.output));

    const end = await c.act(() => c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [] }).then(() => c.dc.continueRequest({ threadId: 1 })));
    assert.equal(end.event, "exited");
    assert.equal(end.body.exitCode, loadGuest("hello").expectedExit);
    assert.equal(c.output, loadGuest("hello").expectedOutput);
  });

  it("hits a breakpoint in a C file, evaluates globals, and shows the caller chain", async () => {
    const c = client();
    const line = lineOf(INTERRUPTS_C, `kprintf("int $0x%x: handler ran`);
    const { event } = await c.launch({ program: suite.elfs().interrupts }, { breakpoints: [{ path: INTERRUPTS_C, lines: [line] }] });
    assert.equal(event.body.reason, "breakpoint");
    const frames = await c.frames();
    assert.equal(frames[0].source?.name, "interrupts.c");
    assert.equal(frames[0].line, line);
    assert.equal(frames[0].name, "kmain");
    assert.ok(frames.length >= 2, "kmain's caller (the boot code) is on the stack");
    assert.equal(await c.evaluate("u32(soft_ints)"), 1);
    assert.equal(c.output, "interrupts: GDT and IDT loaded\n");
    const end = await c.act(() => c.dc.setBreakpointsRequest({ source: { path: INTERRUPTS_C }, breakpoints: [] }).then(() => c.dc.continueRequest({ threadId: 1 })));
    assert.equal(end.event, "exited");
    assert.equal(c.output, loadGuest("interrupts").expectedOutput);
  });

  it("steps over a line that halts until a timer interrupt, and steps back by line", async () => {
    const c = client();
    const line = lineOf(INTERRUPTS_C, "    sti_hlt();");
    const { event } = await c.launch({ program: suite.elfs().interrupts }, { breakpoints: [{ path: INTERRUPTS_C, lines: [line] }] });
    assert.equal(event.body.reason, "breakpoint");
    await c.dc.setBreakpointsRequest({ source: { path: INTERRUPTS_C }, breakpoints: [] });
    const ticks = await c.evaluate("u32(ticks)");
    const at = (f: DebugProtocol.StackFrame) => `${f.source?.name}:${f.line}`;
    const start = at(await c.top());
    const ev = await c.act(() => c.dc.nextRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, "step");
    const top = await c.top();
    assert.equal(top.name, "kmain", "the timer interrupt taken during the step ran to its return");
    assert.notEqual(at(top), start);
    assert.equal(await c.evaluate("u32(ticks)"), ticks + 1);
    const after = at(top);
    await c.act(() => c.dc.nextRequest({ threadId: 1 }));
    assert.notEqual(at(await c.top()), after);
    const back = await c.act(() => c.dc.stepBackRequest({ threadId: 1 }));
    assert.equal(back.body.reason, "step");
    assert.equal(at(await c.top()), after);
    await c.act(() => c.dc.stepBackRequest({ threadId: 1 }));
    assert.equal(at(await c.top()), start);
    assert.equal(await c.evaluate("u32(ticks)"), ticks, "the tick counter is back as it was");
  });

  it("steps over a line that halts until a timer interrupt under a small run budget: the idle wait is not charged to it", async () => {
    const line = lineOf(INTERRUPTS_C, "    sti_hlt();");
    for (const request of ["next", "stepIn"] as const) {
      const c = client();
      // A timer period is far more virtual time than this budget; the handler's own instructions are far fewer.
      const { event } = await c.launch({ program: suite.elfs().interrupts, maxInstructions: 20_000 }, { breakpoints: [{ path: INTERRUPTS_C, lines: [line] }] });
      assert.equal(event.body.reason, "breakpoint");
      await c.dc.setBreakpointsRequest({ source: { path: INTERRUPTS_C }, breakpoints: [] });
      const ticks = await c.evaluate("u32(ticks)");
      const ev = await c.act(() => (request === "next" ? c.dc.nextRequest({ threadId: 1 }) : c.dc.stepInRequest({ threadId: 1 })));
      assert.equal(ev.body.reason, "step", `${request}: ${ev.body.description ?? ""}`);
      assert.equal(await c.evaluate("u32(ticks)"), ticks + 1, `${request}: the timer tick was taken during the step`);
      assert.notEqual((await c.top()).line, line, `${request}: the step left the line`);
    }
  });

  it("a run with a data breakpoint still charges the guest's idle time to the run budget", async () => {
    const c = client();
    const line = lineOf(INTERRUPTS_C, "    sti_hlt();");
    await c.launch({ program: suite.elfs().interrupts, maxInstructions: 20_000 }, { breakpoints: [{ path: INTERRUPTS_C, lines: [line] }] });
    await c.dc.setBreakpointsRequest({ source: { path: INTERRUPTS_C }, breakpoints: [] });
    // Watched instruction by instruction, on a variable nothing writes any more.
    const info = await c.dc.dataBreakpointInfoRequest({ name: "soft_ints" });
    await c.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: "write" }] });
    const ticks = await c.evaluate("u32(ticks)");
    const ev = await c.continue();
    assert.equal(ev.event, "stopped", "the guest did not run on to its end");
    assert.equal(ev.body.reason, "pause");
    assert.match(ev.body.description, /budget of 20000 instructions is spent/);
    assert.ok((await c.evaluate("u32(ticks)")) <= ticks + 1, "one timer period is more than the budget");
  });

  it("rejects breakpoints it cannot place, with a reason", async () => {
    const c = client();
    const elsewhere = source("paging/paging.c");
    const { breakpoints } = await c.launch({ program: suite.elfs().hello, stopOnEntry: true }, { breakpoints: [{ path: elsewhere, lines: [10] }, { path: HELLO_S, lines: [100000] }] });
    assert.equal(breakpoints[0][0].verified, false);
    assert.match(breakpoints[0][0].message!, /paging\.c is not part of hello\.elf/);
    assert.equal(breakpoints[1][0].verified, false);
    assert.match(breakpoints[1][0].message!, /no code at or after line 100000/);
    const fb = await c.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: "no_such_function" }] });
    assert.equal(fb.body.breakpoints[0].verified, false);
  });

  it("reads registers with decoded bits and edits them", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const regs = await c.registers();
    assert.equal(regs.eax.value, "0x2badb002", "multiboot magic in eax");
    assert.equal(regs.cr0.value, "0x00000011 [PE ET]", "as a multiboot loader leaves it");
    assert.match(regs.eflags.value, /^0x00000002 \[\]$/);
    const bits = await c.dc.variablesRequest({ variablesReference: regs.eflags.variablesReference });
    assert.ok(bits.body.variables.some((v) => v.name === "IF" && v.value === "0"));
    const scopes = await c.dc.scopesRequest({ frameId: 0 });
    const ref = scopes.body.scopes.find((s) => s.name === "Registers")!.variablesReference;
    const set = await c.dc.setVariableRequest({ variablesReference: ref, name: "ecx", value: "0x1234 + 1" });
    assert.equal(set.body.value, "0x00001235");
    assert.equal(await c.evaluate("ecx"), 0x1235);
    // set a flag through the EFLAGS children
    const regs2 = await c.registers();
    await c.dc.setVariableRequest({ variablesReference: regs2.eflags.variablesReference, name: "CF", value: "1" });
    assert.equal((await c.evaluate("eflags")) & 1, 1);
    const names = scopes.body.scopes.map((s) => s.name);
    assert.ok(names.includes("Segments and descriptor tables") && names.includes("Ledger") && names.some((n) => n.startsWith("Backend")));
  });

  it("disassembles around an afterburned site and marks it", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const elf = readElf(readFileSync(suite.elfs().hello), suite.elfs().hello);
    const sites = readAnnotationRecords(elf);
    assert.ok(sites.length > 0);
    const site = sites[0];
    const dis = await c.dc.disassembleRequest({ memoryReference: hexOf(site.start), instructionOffset: -4, instructionCount: 10, resolveSymbols: true });
    const ins = dis.body!.instructions;
    assert.equal(ins.length, 10);
    const at = ins.findIndex((i) => i.address === hexOf(site.start));
    assert.equal(at, 4, "decoding backwards lands on the site's instruction boundary");
    assert.match(ins[at].instruction, /# afterburn site [a-z-]+:/);
    assert.ok(ins[at + 1].instruction.startsWith("nop") && ins[at + 1].instruction.includes("padding of the site"));
    assert.ok(ins.every((i) => i.symbol === "_start" || i.symbol === "puts"));
    assert.ok(ins.every((i) => i.location?.name === "hello.S" && typeof i.line === "number"));
  });

  it("reads and writes guest memory; the guest prints what was written", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const ev = await c.dc.evaluateRequest({ expression: "msg_hello", context: "watch" });
    const ref = ev.body.memoryReference!;
    const read = await c.dc.customRequest("readMemory", { memoryReference: ref, count: 5 });
    assert.equal(Buffer.from(read.body.data, "base64").toString("latin1"), "Hello");
    const w = await c.dc.customRequest("writeMemory", { memoryReference: ref, data: Buffer.from("Jello").toString("base64") });
    assert.equal(w.body.bytesWritten, 5);
    const unmapped = await c.dc.customRequest("readMemory", { memoryReference: "0xfffff000", offset: 0, count: 16 });
    assert.equal(unmapped.body.unreadableBytes ?? 16 - Buffer.from(unmapped.body.data ?? "", "base64").length, 16 - Buffer.from(unmapped.body.data ?? "", "base64").length);
    const end = await c.continue();
    assert.equal(end.event, "exited");
    assert.ok(c.output.startsWith("Jello from an afterburned kernel\n"), c.output);
  });

  it("stops on a guest exception filter (software interrupt 0x30) with the event in exceptionInfo", async () => {
    const c = client();
    const { event } = await c.launch({ program: suite.elfs().interrupts }, { filters: [{ filterId: "exception", condition: "0x30" }] });
    assert.equal(event.body.reason, "exception");
    assert.match(event.body.description, /exception .*int \$0x30/);
    const info = await c.dc.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, "exception");
    assert.match(info.body.details!.message!, /vector 48/);
    const top = await c.top();
    assert.notEqual(top.name, "kmain", "stopped at the handler, the int delivered");
    const report = await c.dc.customRequest("afterburnReport");
    assert.equal(report.body.report.schema, "afterburn-ledger");
    // raw prices a software interrupt at nothing: it is a stop, not a ledger event
    assert.equal(report.body.report.events.exception, undefined);
    assert.ok(c.reports.length >= 1 && c.reports[c.reports.length - 1].body.backend === "raw");
    const end = await c.continue();
    assert.equal(end.event, "exited");
  });

  it("steps back and reverse-continues through recorded history without repeating console output", async () => {
    const c = client();
    const { event } = await c.launch({ program: suite.elfs().hello }, { functions: ["puts"] });
    assert.equal(event.body.reason, "function breakpoint");
    await c.continue(); // second call of puts
    await c.continue(); // third
    const third = await c.evaluate("esi");
    const count3 = parseInt((await c.registers()).instructions.value, 10);
    // a few instructions forward, then back one at a time
    const eips: number[] = [];
    for (let i = 0; i < 4; i++) {
      eips.push(await c.evaluate("eip"));
      await c.act(() => c.dc.stepInRequest({ threadId: 1, granularity: "instruction" }));
    }
    const esiThere = await c.evaluate("esi");
    for (let i = 3; i >= 0; i--) {
      const ev = await c.act(() => c.dc.stepBackRequest({ threadId: 1, granularity: "instruction" }));
      assert.equal(ev.body.reason, "step");
      assert.equal(await c.evaluate("eip"), eips[i]);
    }
    assert.equal(await c.evaluate("esi"), third);
    assert.notEqual(esiThere, third, "lodsb advanced esi; stepping back restored it");
    // reverse continue: back to the second hit of puts
    const rc = await c.act(() => c.dc.reverseContinueRequest({ threadId: 1 }));
    assert.equal(rc.body.reason, "function breakpoint");
    const count2 = parseInt((await c.registers()).instructions.value, 10);
    assert.ok(count2 < count3);
    assert.notEqual(await c.evaluate("esi"), third);
    // forward again to the end: the console shows every line exactly once
    await c.dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    const end = await c.continue();
    assert.equal(end.event, "exited");
    assert.equal(c.output, loadGuest("hello").expectedOutput);
  });

  it("honours conditions and hit counts", async () => {
    const c = client();
    const putsLine = lineOf(HELLO_S, "puts:") + 1;
    const { event } = await c.launch(
      { program: suite.elfs().hello },
      { breakpoints: [{ path: HELLO_S, lines: [putsLine], conditions: ["esi == msg_cpuid"] }] },
    );
    assert.equal(event.body.reason, "breakpoint");
    assert.equal(await c.evaluate("esi"), await c.evaluate("msg_cpuid"));
    // puts loops back to its first line for every character: the 3rd hit from here is 3 characters on
    await c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [{ line: putsLine, hitCondition: "3" }] });
    await c.continue();
    assert.equal(await c.evaluate("esi"), (await c.evaluate("msg_cpuid")) + 3);
    await c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [{ line: putsLine, hitCondition: "% 4", condition: "esi >= msg_yes" }] });
    await c.continue();
    assert.equal(await c.evaluate("esi"), (await c.evaluate("msg_yes")) + 3);
  });

  it("stops on a data breakpoint when the guest writes a watched variable", async () => {
    const c = client();
    const line = lineOf(INTERRUPTS_C, "pit_set_periodic(TIMER_HZ);");
    await c.launch({ program: suite.elfs().interrupts }, { breakpoints: [{ path: INTERRUPTS_C, lines: [line] }] });
    const info = await c.dc.dataBreakpointInfoRequest({ name: "ticks" });
    assert.ok(info.body.dataId);
    assert.deepEqual(info.body.accessTypes, ["read", "write", "readWrite"]);
    const set = await c.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: "write" }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    const ev = await c.continue();
    assert.equal(ev.body.reason, "data breakpoint");
    assert.match(ev.body.description, /write of .* 0x00000000 → 0x00000001/);
    const top = await c.top();
    assert.equal(top.name, "on_timer");
    assert.equal(await c.evaluate("u32(ticks)"), 1);
  });

  it("builds guest sources, pauses and terminates a running guest, and reports build errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "afterburn-dap-src-"));
    const spin = join(dir, "spin.S");
    writeFileSync(spin, "\t.text\n\t.globl _start\n_start:\n\tincl %eax\n\tjmp _start\n");
    const c = client();
    await c.dc.start();
    await c.dc.initializeRequest({ adapterID: "afterburn", pathFormat: "path" });
    const initialized = c.dc.waitForEvent("initialized");
    const launched = c.dc.launchRequest({ program: spin } as DebugProtocol.LaunchRequestArguments);
    await initialized;
    await c.dc.configurationDoneRequest();
    await launched;
    const paused = await c.act(() => c.dc.pauseRequest({ threadId: 1 }));
    assert.equal(paused.body.reason, "pause");
    const top = await c.top();
    assert.equal(top.source?.name, "spin.S");
    assert.ok((await c.evaluate("eax")) > 0);
    await c.dc.continueRequest({ threadId: 1 });
    const terminated = c.dc.waitForEvent("terminated");
    await c.dc.terminateRequest({});
    await terminated;

    const broken = join(dir, "broken.c");
    writeFileSync(broken, "void _start(void) { this is not C; }\n");
    const d = client();
    await d.dc.start();
    await d.dc.initializeRequest({ adapterID: "afterburn", pathFormat: "path" });
    await assert.rejects(d.dc.launchRequest({ program: broken } as DebugProtocol.LaunchRequestArguments), (e: Error) => {
      assert.match(e.message, /building .*broken\.c failed/);
      assert.match(e.message, /broken\.c:1:\d+: error/);
      return true;
    });
  });

  it("restarts with the same breakpoints, and prints log points instead of stopping", async () => {
    const c = client();
    const line = lineOf(HELLO_S, "movl $msg_cpuid, %esi");
    const logLine = lineOf(HELLO_S, "movl $msg_magic, %esi");
    const logs: string[] = [];
    c.dc.on("output", (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === "console") logs.push(e.body.output);
    });
    const { event } = await c.launch({ program: suite.elfs().hello }, { breakpoints: [{ path: HELLO_S, lines: [line] }] });
    assert.equal(event.body.reason, "breakpoint");
    await c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [{ line }, { line: logLine, logMessage: "esi={esi}" }] });
    const firstRun = c.output;
    const again = await c.act(() => c.dc.restartRequest({}));
    assert.equal(again.body.reason, "breakpoint");
    assert.equal((await c.top()).line, line);
    assert.equal(c.output, firstRun + firstRun, "the restarted guest printed the same up to the breakpoint");
    assert.ok(logs.some((l) => /^esi=0x[0-9a-f]{8}\n$/.test(l)), JSON.stringify(logs));
  });

  it("returns the CGA text screen on request", async () => {
    const c = client();
    await c.launch({ program: suite.elfs().hello, stopOnEntry: true });
    const s = await c.dc.customRequest("afterburnScreen");
    assert.equal(typeof s.body.text, "string");
    assert.equal(s.body.columns, 80);
  });
});

describe("debug adapter on the hypervisor backends (the wedge)", () => {
  const FILTER: Record<string, string> = { trap: "trap", vtx: "vm-exit", xen: "hypercall", l4: "hypercall" };
  /** The ledger event kind that filter stops on (the hypercall filter covers L4's IPC). */
  const KIND: Record<string, string> = { trap: "trap", vtx: "vm-exit", xen: "hypercall", l4: "ipc" };
  for (const backend of ["trap", "vtx", "xen", "l4"] as const) {
    it(`${backend}: breakpoint in a .S file, instruction step, scopes, disassembly of a site, break on ${FILTER[backend]}, run to exit`, async () => {
      const c = client();
      const line = lineOf(HELLO_S, "movl $msg_cpuid, %esi");
      const { event, breakpoints } = await c.launch({ program: suite.elfs().hello, backend }, { breakpoints: [{ path: HELLO_S, lines: [line] }] });
      assert.equal(event.body.reason, "breakpoint", JSON.stringify(event.body));
      assert.equal(breakpoints[0][0].verified, true);
      assert.equal((await c.top()).line, line);
      assert.equal(c.output, "Hello from an afterburned kernel\nmultiboot magic: ok\n");

      const threads = await c.dc.threadsRequest();
      assert.match(threads.body.threads[0].name, new RegExp(`\\(${backend}\\)`));
      const scopes = (await c.dc.scopesRequest({ frameId: 0 })).body.scopes.map((s) => s.name);
      assert.ok(scopes.includes(`Backend (${backend})`), scopes.join(", "));
      if (backend === "xen" || backend === "l4") {
        assert.ok(scopes.includes("Virtual CPU"), scopes.join(", "));
        const vs = (await c.dc.scopesRequest({ frameId: 0 })).body.scopes.find((s) => s.name === "Virtual CPU")!;
        const vars = (await c.dc.variablesRequest({ variablesReference: vs.variablesReference })).body.variables;
        assert.ok(vars.length > 4 && vars.some((v) => /flags|if/i.test(v.name)), vars.map((v) => v.name).join(", "));
      }
      const before = parseInt((await c.registers()).eip.value, 16);
      await c.act(() => c.dc.stepInRequest({ threadId: 1, granularity: "instruction" }));
      assert.notEqual(parseInt((await c.registers()).eip.value, 16), before);

      // the out in puts is a site: rewritten by the wedge on xen/l4, left padded elsewhere
      const elf = readElf(readFileSync(suite.elfs().hello), suite.elfs().hello);
      const outAt = lineOf(HELLO_S, "outb %al, %dx");
      const lines = readLineTable(elf);
      const site = readAnnotationRecords(elf).find((r) => lines.addressToLine(r.start)?.line === outAt);
      assert.ok(site, `a record for hello.S:${outAt}`);
      const dis = await c.dc.disassembleRequest({ memoryReference: hexOf(site.start), instructionCount: 3 });
      const text = dis.body!.instructions[0].instruction;
      if (backend === "xen" || backend === "l4") assert.match(text, /# afterburn site [a-z0-9-]+, rewritten \((inline|call)\) by the wedge; original: /);
      else assert.match(text, new RegExp(`# afterburn site [a-z0-9-]+: .* \\(padded, not rewritten on ${backend}\\)`));

      // break on the backend's own event kind: the stop names the site and what happened
      await c.dc.setExceptionBreakpointsRequest({ filters: [FILTER[backend]] });
      const stop = await c.continue();
      assert.equal(stop.event, "stopped");
      assert.equal(stop.body.reason, "exception");
      const info = await c.dc.exceptionInfoRequest({ threadId: 1 });
      assert.match(info.body.exceptionId, new RegExp(`^${KIND[backend]}:[a-z0-9-]+$`), "the filter and the site's catalogue id");
      assert.ok(info.body.description && info.body.description.length > 0);
      assert.ok(c.ledger.length > 0 && c.ledger.some((e) => e.body.backend === backend), "afterburnLedger events arrive");

      await c.dc.setExceptionBreakpointsRequest({ filters: [] });
      await c.dc.setBreakpointsRequest({ source: { path: HELLO_S }, breakpoints: [] });
      const end = await c.continue();
      assert.equal(end.event, "exited");
      assert.equal(end.body.exitCode, loadGuest("hello").expectedExit);
      assert.equal(c.output, loadGuest("hello").expectedOutput, "same console on every backend");
      const report = await c.dc.customRequest("afterburnReport");
      assert.equal(report.body.report.backend, backend);
      assert.ok(report.body.report.cycles > report.body.report.instructions, "events priced");
    });
  }

  it("xen: stepping an instruction into a call-out shows the wedge frame", async () => {
    const c = client();
    const outAt = lineOf(HELLO_S, "outb %al, %dx");
    const { event } = await c.launch({ program: suite.elfs().hello, backend: "xen" }, { breakpoints: [{ path: HELLO_S, lines: [outAt] }] });
    assert.equal(event.body.reason, "breakpoint");
    let wedge: DebugProtocol.StackFrame | undefined;
    for (let i = 0; i < 4 && !wedge; i++) {
      await c.act(() => c.dc.stepInRequest({ threadId: 1, granularity: "instruction" }));
      wedge = (await c.frames()).find((f) => f.name.startsWith("wedge: "));
    }
    assert.ok(wedge, "a synthetic frame names the wedge handler");
    assert.match(wedge.name, /wedge: .+ → xen /);
  });

  it("a launch on a bad backend or with an unknown VT-x control fails with a clear message", async () => {
    const c = client();
    await c.dc.start();
    await c.dc.initializeRequest({ adapterID: "afterburn", linesStartAt1: true, columnsStartAt1: true, pathFormat: "path" });
    await assert.rejects(c.dc.launchRequest({ program: suite.elfs().hello, backend: "kvm" } as DebugProtocol.LaunchRequestArguments), /unknown backend 'kvm'/);
    const d = client();
    await d.dc.start();
    await d.dc.initializeRequest({ adapterID: "afterburn", linesStartAt1: true, columnsStartAt1: true, pathFormat: "path" });
    await assert.rejects(d.dc.launchRequest({ program: suite.elfs().hello, backend: "vtx", vtx: { warpDrive: true } } as DebugProtocol.LaunchRequestArguments), /unknown VT-x control "warpDrive"/);
  });
});
