// package.json's contributions agree with the code and the shared contracts: commands in menus and
// in the server's code lenses exist, grammar and configuration files exist, the debugger's launch
// attributes and the settings are the agreed ones, VS Code stays within what code-server 4.100.3 has.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const c = pkg.contributes;
const extensionSource = readFileSync(join(root, "client", "extension.ts"), "utf8");

test("every command in a menu, and every command the server puts in lenses, is declared and registered", () => {
  const declared = new Set<string>(c.commands.map((x: { command: string }) => x.command));
  for (const [menu, items] of Object.entries(c.menus) as [string, { command: string }[]][]) {
    for (const i of items) assert.ok(declared.has(i.command), `${menu}: ${i.command} is not declared`);
  }
  // Contract C: commands the language server references.
  for (const id of ["afterburn.previewAfterburned", "afterburn.runGuest", "afterburn.showBackends"]) assert.ok(declared.has(id), id);
  for (const id of declared) assert.ok(extensionSource.includes(`"${id}"`), `${id} is declared but client/extension.ts does not register it`);
});

test("languages, grammars and the language configuration point at files that exist", () => {
  const lang = c.languages.find((l: { id: string }) => l.id === "gas-x86");
  assert.deepEqual(lang.extensions, [".s", ".S", ".asm", ".inc"]);
  assert.ok(existsSync(join(root, lang.configuration)));
  JSON.parse(readFileSync(join(root, lang.configuration), "utf8"));
  for (const g of c.grammars) assert.ok(existsSync(join(root, g.path)), g.path);
  assert.deepEqual(c.grammars.find((g: { injectTo?: string[] }) => g.injectTo).injectTo, ["source.c", "source.cpp"]);
});

test("the debugger offers contract B's launch attributes", () => {
  const d = c.debuggers.find((x: { type: string }) => x.type === "afterburn");
  const props = Object.keys(d.configurationAttributes.launch.properties).sort();
  assert.deepEqual(props, ["args", "backend", "breakOnTrap", "cmdline", "maxInstructions", "memory", "postPort", "program", "rom", "stopOnEntry", "vtx"]);
  assert.deepEqual(d.configurationAttributes.launch.properties.backend.enum, ["raw", "trap", "vtx", "xen", "l4"]);
  assert.deepEqual(c.breakpoints.map((b: { language: string }) => b.language), ["gas-x86", "c", "cpp"]);
});

test("settings cover contract C and the toolchain paths", () => {
  const props = c.configuration.properties;
  for (const k of [
    "afterburn.diagnostics.privileged",
    "afterburn.diagnostics.sensitive",
    "afterburn.diagnostics.platform",
    "afterburn.inlayHints.padding",
    "afterburn.compileCommands",
    "afterburn.maxAnalysisLines",
    "afterburn.toolchain.gcc",
    "afterburn.toolchain.as",
    "afterburn.toolchain.ld",
    "afterburn.backend",
  ]) assert.ok(props[k], k);
  assert.deepEqual(props["afterburn.diagnostics.privileged"].enum, ["error", "warning", "information", "hint", "off"]);
  assert.equal(props["afterburn.maxAnalysisLines"].default, 200000);
});

test("limited support in untrusted workspaces; VS Code API within 1.100 (code-server 4.100.3)", () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, "limited");
  assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes("afterburn.toolchain.gcc"));
  const m = /^\^?(\d+)\.(\d+)\./.exec(pkg.engines.vscode);
  assert.ok(m && Number(m[1]) === 1 && Number(m[2]) <= 100, pkg.engines.vscode);
  const running = c.commands.filter((x: { command: string }) => ["afterburn.runGuest", "afterburn.compareBackends", "afterburn.afterburnFile", "afterburn.debugGuest"].includes(x.command));
  for (const x of running) assert.equal(x.enablement, "isWorkspaceTrusted", x.command);
  assert.equal(pkg.main, "./dist/extension.js".replace("./", ""));
});

test(".vscodeignore keeps what the bundles load at run time", () => {
  const ignore = readFileSync(join(root, ".vscodeignore"), "utf8");
  for (const f of ["node_modules/iced-x86/iced_x86_bg.wasm", "node_modules/web-tree-sitter/tree-sitter.wasm", "node_modules/tree-sitter-c/tree-sitter-c.wasm"]) {
    assert.ok(ignore.includes(`!${f}`), f);
    assert.ok(existsSync(join(root, f)), `${f} exists in node_modules`);
  }
});
