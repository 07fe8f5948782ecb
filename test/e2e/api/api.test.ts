// API suite in the real extension host: the extension with its real language server and debug
// adapter (dist/server.js, dist/debugger.js) and the real CLI, on the example guests.
import * as assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import type { AfterburnerApi } from "../../../client/extension";

const EXTENSION_ID = "afterburner-studio.afterburner-studio";

function workspaceRoot(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, "the suite runs with a workspace folder (a copy of examples/)");
  return f.uri.fsPath;
}

async function api(): Promise<AfterburnerApi> {
  const ext = vscode.extensions.getExtension<AfterburnerApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is loaded`);
  return ext.isActive ? ext.exports : ext.activate();
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === "string" ? c : "value" in c ? c.value : String(c)))
    .join("\n");
}

async function open(path: string): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
  await vscode.window.showTextDocument(doc);
  return doc;
}

async function diagnosticOn(uri: vscode.Uri, line: number): Promise<vscode.Diagnostic> {
  return until(`a diagnostic on line ${line + 1} of ${uri.fsPath}`, () =>
    vscode.languages.getDiagnostics(uri).find((d) => d.range.start.line === line),
  );
}

describe("Afterburner Studio in VS Code", function () {
  let a: AfterburnerApi;
  let root: string;

  before(async function () {
    a = await api();
    root = workspaceRoot();
    writeFileSync(join(root, "probe.S"), "/* probe */\n\t.text\n\t.globl f\nf:\n\tcli\n\tmovl %eax, %ebx\n\tret\n");
    writeFileSync(join(root, "probe.c"), 'void irq_off(void)\n{\n\tasm volatile("cli" ::: "memory");\n}\n');
  });

  it("activates with the gas-x86 language and the status bar backend", async function () {
    const doc = await open(join(root, "probe.S"));
    assert.equal(doc.languageId, "gas-x86");
    assert.ok(["raw", "trap", "vtx", "xen", "l4"].includes(a.backend()));
  });

  it("diagnostic and hover on cli in a .S file", async function () {
    const doc = await open(join(root, "probe.S"));
    const d = await diagnosticOn(doc.uri, 4);
    assert.match(d.message, /cli/i);
    assert.equal(d.range.start.character, 1);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>("vscode.executeHoverProvider", doc.uri, new vscode.Position(4, 2));
    const text = hoverText(hovers);
    assert.match(text, /cli/i);
    assert.match(text, /privileged/i);
    // The plain move on the next line is not sensitive.
    assert.equal(vscode.languages.getDiagnostics(doc.uri).filter((x) => x.range.start.line === 5).length, 0);
  });

  it('diagnostic and hover on asm("cli") in a C file', async function () {
    const doc = await open(join(root, "probe.c"));
    assert.equal(doc.languageId, "c");
    const d = await diagnosticOn(doc.uri, 2);
    assert.match(d.message, /cli/i);
    const col = doc.lineAt(2).text.indexOf("cli");
    assert.ok(d.range.start.character <= col && d.range.end.character >= col + 3, `range ${JSON.stringify(d.range)} covers "cli" at ${col}`);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>("vscode.executeHoverProvider", doc.uri, new vscode.Position(2, col + 1));
    assert.match(hoverText(hovers), /cli/i);
  });

  it("Preview Afterburned Form opens the afterburned text from the server", async function () {
    const doc = await open(join(root, "probe.S"));
    const preview = await vscode.commands.executeCommand<vscode.Uri>("afterburn.previewAfterburned", doc.uri);
    assert.ok(preview, "the command returns the preview document's uri");
    const text = (await vscode.workspace.openTextDocument(preview)).getText();
    assert.match(text, /\bcli\b/);
    assert.match(text, /afterburn/, "the preview carries the .afterburn annotation");
    assert.ok(text.length > doc.getText().length, "padding and annotations make it longer");
    assert.ok(
      vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === preview.toString())),
      "shown as a diff against the source",
    );
  });

  it("an open preview follows its source as it is edited", async function () {
    const path = join(root, "follow.S");
    writeFileSync(path, "\t.text\nf:\n\tcli\n\tret\n");
    const doc = await open(path);
    const preview = await vscode.commands.executeCommand<vscode.Uri>("afterburn.previewAfterburned", doc.uri);
    assert.ok(preview);
    const shown = await vscode.workspace.openTextDocument(preview);
    assert.doesNotMatch(shown.getText(), /\bhlt\b/);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(3, 0), "\thlt\n");
    assert.ok(await vscode.workspace.applyEdit(edit));
    // The same preview document now holds the afterburned hlt, with its own annotation label.
    const text = await until("the preview to show the inserted hlt", () => {
      const t = shown.getText();
      return /\bhlt\b/.test(t) ? t : undefined;
    });
    assert.equal((text.match(/_sens_\d+:/g) ?? []).length, 2, "two annotated sites: cli and the new hlt");
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
  });

  it("debug session on examples/hello under xen: breakpoint, step, registers and the vCPU, live trap view, end", async function () {
    const source = join(root, "hello", "hello.S");
    const lines = readFileSync(source, "utf8").split("\n");
    const bpLine = lines.findIndex((l) => /^\s*call puts/.test(l)); // first call after _start
    assert.ok(bpLine > 0);
    const events: { event: string; body?: any }[] = [];
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory("afterburn", {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (m: any) => {
          if (m.type === "event") events.push({ event: m.event, body: m.body });
        },
      }),
    });
    const bp = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(source), new vscode.Position(bpLine, 0)));
    vscode.debug.addBreakpoints([bp]);
    try {
      const started = new Promise<vscode.DebugSession>((r) => {
        const sub = vscode.debug.onDidStartDebugSession((s) => {
          sub.dispose();
          r(s);
        });
      });
      const ok = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
        type: "afterburn",
        request: "launch",
        name: "e2e hello",
        program: source,
        backend: "xen",
        stopOnEntry: false,
      });
      assert.ok(ok, "startDebugging");
      const session = await started;
      const stopped = await until("a stop at the breakpoint", () => events.find((e) => e.event === "stopped"), 60000);
      assert.equal(stopped.body.reason, "breakpoint");
      const threadId = stopped.body.threadId ?? 1;
      // The adapter's afterburnReport at the stop reaches the trap view's model as a live debug backend.
      const live = await until("the debug session's ledger in the trap view", () => a.model.tree().find((b) => b.backend === "xen" && b.origin === "debug"), 15000);
      assert.equal(live.live, true);
      const trace = await session.customRequest("stackTrace", { threadId, startFrame: 0, levels: 1 });
      const top = trace.stackFrames[0];
      assert.equal(top.line, bpLine + 1);
      assert.match(top.source?.path ?? top.source?.name ?? "", /hello\.S$/);

      const before = events.length;
      await session.customRequest("stepIn", { threadId });
      await until("the stop after a step", () => events.slice(before).find((e) => e.event === "stopped"), 30000);
      const after = (await session.customRequest("stackTrace", { threadId, startFrame: 0, levels: 1 })).stackFrames[0];
      assert.notEqual(after.line, top.line, "stepping into puts moves to another line");

      const scopes = (await session.customRequest("scopes", { frameId: after.id })).scopes as { name: string; variablesReference: number }[];
      const regs = scopes.find((s) => /regist/i.test(s.name));
      assert.ok(regs, `a registers scope among ${scopes.map((s) => s.name).join(", ")}`);
      assert.ok(scopes.some((s) => s.name === "Virtual CPU"), `the wedge's vCPU among ${scopes.map((s) => s.name).join(", ")}`);
      const vars = (await session.customRequest("variables", { variablesReference: regs.variablesReference })).variables as { name: string; value: string }[];
      const eip = vars.find((v) => /^(eip|pc)$/i.test(v.name));
      const esi = vars.find((v) => /^esi$/i.test(v.name));
      assert.ok(eip && esi, `eip and esi among ${vars.map((v) => v.name).join(", ")}`);
      assert.match(eip.value, /^0x[0-9a-f]+\b/i);

      const ended = new Promise<void>((r) => {
        const sub = vscode.debug.onDidTerminateDebugSession((s) => {
          if (s.id === session.id) {
            sub.dispose();
            r();
          }
        });
      });
      await vscode.debug.stopDebugging(session);
      await ended;
      assert.equal(a.model.tree().find((b) => b.backend === "xen" && b.origin === "debug")?.live, false, "the trap view marks the session ended");
    } finally {
      vscode.debug.removeBreakpoints([bp]);
      tracker.dispose();
    }
  });

  it("Afterburn & Run fills the trap view from the JSON report", async function () {
    await a.setBackend("trap");
    const hello = vscode.Uri.file(join(root, "hello", "hello.S"));
    await vscode.window.showTextDocument(hello);
    const run = await vscode.commands.executeCommand<any>("afterburn.runGuest", hello);
    assert.ok(run, "the run finished (see the Afterburner Studio output on failure)");
    assert.equal(run.runs[0].backend, "trap");
    assert.equal(run.runs[0].console, readFileSync(join(root, "hello", "expected-output.txt"), "utf8"));
    const tree = a.model.tree();
    const trap = tree.find((b) => b.backend === "trap");
    assert.ok(trap, "a trap backend node");
    const kinds = trap.kinds.map((k) => k.kind);
    assert.ok(kinds.includes("trap"), `kinds: ${kinds.join(", ")}`);
    const traps = trap.kinds.find((k) => k.kind === "trap")!;
    assert.ok(traps.count > 0 && traps.cycles > 0);
    const site = traps.sites.find((s) => s.mnemonic?.startsWith("out") || s.mnemonic?.startsWith("in"));
    assert.ok(site, `an in/out site among ${traps.sites.map((s) => s.mnemonic).join(", ")}`);
    assert.match(site.file ?? "", /hello\.S$/);
    assert.ok(site.line && site.line > 0);
    await vscode.commands.executeCommand("afterburn.revealSite", site);
    const editor = vscode.window.activeTextEditor!;
    assert.match(editor.document.uri.fsPath, /hello\.S$/);
    assert.equal(editor.selection.active.line, site.line! - 1);
  });

  after(function () {
    for (const f of ["probe.S", "probe.c"]) if (existsSync(join(root, f))) writeFileSync(join(root, f), "");
  });
});
