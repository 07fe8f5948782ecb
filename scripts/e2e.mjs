// End-to-end suite in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by Playwright
// with Debian's Chromium. `npm run test:e2e` runs both parts:
//   API suite  mocha 11 inside the real extension host (extensionTestsPath via the ?payload= URL),
//              the extension loaded from this folder (extensionDevelopmentPath);
//   UI suite   Playwright clicks through the workbench with the packaged .vsix installed.
// Options: --api | --ui (only one part), --keep (leave the run folder for inspection).
// Needs: `bash scripts/setup-system.sh --e2e` (root) and `bash scripts/install-code-server.sh`.
// Screenshots go to test-artifacts/e2e/. The last line is `N passed, N failed`.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const only = args.includes("--api") ? "api" : args.includes("--ui") ? "ui" : "both";
const keep = args.includes("--keep");
const CODE_SERVER = process.env.CODE_SERVER ?? join(root, ".e2e", "code-server", "node_modules", ".bin", "code-server");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(root, "test-artifacts", "e2e");
const EXTENSION_ID = "afterburner-studio.afterburner-studio";

function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(2);
}
if (!existsSync(CODE_SERVER)) fail(`no code-server at ${CODE_SERVER}; run: bash scripts/install-code-server.sh`);
if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM}; run as root: bash scripts/setup-system.sh --e2e (or set CHROMIUM=)`);

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (m) => console.log(`[e2e ${elapsed()}] ${m}`);

// ---------- build: bundles, the API suite, the .vsix ----------
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", ...opts });
  if (r.status !== 0) fail(`${cmd} ${argv.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
run(process.execPath, [join(root, "scripts", "build.mjs")]);
for (const b of ["extension", "server", "debugger", "afterburn", "afterburn-cc"]) {
  if (!existsSync(join(root, "dist", `${b}.js`))) fail(`dist/${b}.js was not built`);
}
const outDir = join(root, ".e2e", "out");
rmSync(outDir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { "api/index": "test/e2e/api/index.ts", "api/api.test": "test/e2e/api/api.test.ts" },
  outdir: outDir,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: "inline",
  external: ["vscode", "mocha"],
  logLevel: "warning",
});

// ---------- code-server ----------
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const RUN = mkdtempSync(join(tmpdir(), "afterburner-e2e-"));
const servers = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const s of servers) stopServer(s);
  if (!keep) rmSync(RUN, { recursive: true, force: true });
  else console.log(`e2e: run folder kept: ${RUN}`);
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => { cleanup(); process.exit(130); });

const SETTINGS = {
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "workbench.enableExperiments": false,
  "workbench.tips.enabled": false,
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
  "git.enabled": false,
  "git.autoRepositoryDetection": false,
  "github.gitAuthentication": false,
  // The DOM renderer puts terminal text in the page, where the UI suite can read it.
  "terminal.integrated.gpuAcceleration": "off",
  "editor.hover.delay": 200,
  "window.restoreWindows": "none",
  "files.hotExit": "off",
};

/** A workspace: a copy of examples/ (without build output). */
function makeWorkspace(name) {
  const ws = join(RUN, name);
  cpSync(join(root, "examples"), ws, { recursive: true, filter: (src) => !/[\\/]build(?:[\\/]|$)/.test(src.slice(join(root, "examples").length)) });
  return ws;
}

async function startServer(name, { settings = {}, vsix } = {}) {
  const dir = join(RUN, name);
  for (const d of ["ud/User", "ext", "xdg-config", "xdg-data", "xdg-cache"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "config.yaml"), "");
  writeFileSync(join(dir, "ud", "User", "settings.json"), JSON.stringify({ ...SETTINGS, ...settings }, null, 2));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: join(dir, "xdg-config"),
    XDG_DATA_HOME: join(dir, "xdg-data"),
    XDG_CACHE_HOME: join(dir, "xdg-cache"),
    E2E_RESULTS: join(dir, "results.json"),
  };
  const common = ["--config", join(dir, "config.yaml"), "--user-data-dir", join(dir, "ud"), "--extensions-dir", join(dir, "ext")];
  if (vsix) run(CODE_SERVER, [...common, "--install-extension", vsix, "--force"], { env });
  const port = await freePort();
  const out = join(dir, "server.log");
  const { openSync } = await import("node:fs");
  const fd = openSync(out, "w");
  // detached: its own process group (setsid), so the whole tree (extension hosts, pty host, watchers) stops together.
  const child = spawn(
    CODE_SERVER,
    [...common, "--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override", "--ignore-last-opened"],
    { env, detached: true, stdio: ["ignore", fd, fd] },
  );
  const server = { name, dir, port, child, log: out, results: env.E2E_RESULTS, alive: true };
  child.on("exit", () => (server.alive = false));
  servers.push(server);
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (!server.alive || Date.now() > deadline) fail(`code-server (${name}) did not start:\n${readFileSync(out, "utf8").slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return server;
}

function stopServer(s) {
  if (!s.alive) return;
  try {
    process.kill(-s.child.pid, "SIGTERM");
  } catch {
    return;
  }
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    try {
      process.kill(-s.child.pid, 0);
    } catch {
      s.alive = false;
      return;
    }
    spawnSync("sleep", ["0.1"]);
  }
  try {
    process.kill(-s.child.pid, "SIGKILL");
  } catch {
    // gone
  }
  s.alive = false;
}

function findFiles(dir, pattern, out = []) {
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) findFiles(p, pattern, out);
    else if (pattern.test(n)) out.push(p);
  }
  return out;
}

function dumpLogs(server) {
  console.log(`---- ${server.name}: server.log (tail) ----\n${readFileSync(server.log, "utf8").slice(-2500)}`);
  for (const f of findFiles(join(server.dir, "ud", "logs"), /remoteexthost\.log$|Afterburner Studio\.log$|afterburn.*\.log$/i)) {
    console.log(`---- ${f.slice(server.dir.length + 1)} (tail) ----\n${readFileSync(f, "utf8").slice(-4000)}`);
  }
}

async function launchBrowser(name) {
  return chromium.launchPersistentContext(join(RUN, `${name}-chromium`), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    env: { ...process.env, XDG_CONFIG_HOME: join(RUN, `${name}-xdg`), XDG_CACHE_HOME: join(RUN, `${name}-xdg`) },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

const totals = { passed: 0, failed: 0 };
mkdirSync(ARTIFACTS, { recursive: true });

// ---------- API suite ----------
async function apiSuite() {
  log("API suite: starting code-server");
  const server = await startServer("api");
  const ws = makeWorkspace("api-ws");
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [
    ["extensionDevelopmentPath", remote(root)],
    ["extensionTestsPath", remote(join(outDir, "api", "index.js"))],
  ];
  const url = `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const browser = await launchBrowser("api");
  const consoleErrors = [];
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    await page.goto(url);
    const deadline = Date.now() + 240000;
    while (!existsSync(server.results) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: join(ARTIFACTS, "api-end.png") }).catch(() => undefined);
    if (!existsSync(server.results)) {
      console.log("API suite: no results file within 240 s");
      for (const e of consoleErrors.slice(-20)) console.log(`  browser console: ${e.slice(0, 500)}`);
      dumpLogs(server);
      totals.failed += 1;
      return;
    }
    await new Promise((r) => setTimeout(r, 300)); // the reporter writes the file in one go; let it finish
    const results = JSON.parse(readFileSync(server.results, "utf8"));
    for (const t of results.passes ?? []) console.log(`  ✔ ${t.fullTitle} (${t.duration ?? 0} ms)`);
    for (const t of results.failures ?? []) console.log(`  ✘ ${t.fullTitle}\n      ${String(t.err?.message ?? t.err?.stack ?? "").split("\n").join("\n      ")}`);
    const passed = results.stats?.passes ?? 0;
    const failed = (results.stats?.failures ?? 0) + (results.stats?.tests === 0 ? 1 : 0);
    console.log(`API suite: ${passed} passed, ${failed} failed`);
    totals.passed += passed;
    totals.failed += failed;
    if (failed > 0) dumpLogs(server);
  } finally {
    await browser.close();
    stopServer(server);
  }
}

// ---------- UI suite ----------
async function uiSuite() {
  const vsix = join(RUN, "afterburner-studio.vsix");
  log("UI suite: packaging the extension");
  run(join(root, "node_modules", ".bin", "vsce"), ["package", "--allow-missing-repository", "--skip-license", "--out", vsix]);
  log("UI suite: starting code-server with the .vsix installed");
  const server = await startServer("ui", { vsix, settings: { "afterburn.backend": "trap" } });
  if (!existsSync(join(server.dir, "ext")) || !readdirSync(join(server.dir, "ext")).some((n) => n.startsWith(EXTENSION_ID))) {
    fail(`the .vsix did not install into ${join(server.dir, "ext")}`);
  }
  const ws = makeWorkspace("ui-ws");
  const browser = await launchBrowser("ui");
  const page = browser.pages()[0] ?? (await browser.newPage());
  const results = { passed: 0, failed: 0 };
  let broken = false;
  async function step(name, fn) {
    if (broken) {
      console.log(`  - ${name} (skipped: an earlier step failed)`);
      results.failed += 1;
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
      console.log(`  ✔ ${name} (${Date.now() - t0} ms)`);
      results.passed += 1;
    } catch (e) {
      console.log(`  ✘ ${name}\n      ${String(e.message ?? e).split("\n").slice(0, 8).join("\n      ")}`);
      results.failed += 1;
      await page.screenshot({ path: join(ARTIFACTS, `ui-failed-${name.replace(/\W+/g, "-")}.png`) }).catch(() => undefined);
      broken = name.startsWith("!");
    }
  }
  const shot = async (name) => {
    await page.waitForTimeout(350); // hovers and toasts fade in
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  };
  const palette = async (title) => {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill(`>${title}`);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
    await row.waitFor({ state: "visible", timeout: 15000 });
    await page.keyboard.press("Enter");
  };
  try {
    await step("!open examples/hello/hello.S; the extension activates (status bar backend)", async () => {
      await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(ws)}`);
      await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
      await page.keyboard.press("Control+P");
      const input = page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible" });
      await input.fill("hello.S");
      await page.locator(".quick-input-list .monaco-list-row", { hasText: "hello.S" }).first().waitFor({ timeout: 15000 });
      await page.keyboard.press("Enter");
      await page.locator(".monaco-editor .view-lines", { hasText: "_start" }).waitFor({ timeout: 20000 });
      await page.locator(".statusbar-item", { hasText: "Afterburn: trap" }).waitFor({ timeout: 30000 });
      await shot("ui-1-opened");
    });
    await step("a sensitive instruction has a squiggle and the hover explains it", async () => {
      // Put the cursor on `inb %dx, %al` in puts (privileged: a warning by default).
      const source = readFileSync(join(ws, "hello", "hello.S"), "utf8").split("\n");
      const line = source.findIndex((l) => /^\s*(?:\d+:)?\s*inb\s/.test(l)) + 1;
      if (line <= 0) throw new Error("no inb in hello.S");
      const column = source[line - 1].indexOf("inb") + 2; // on the `n`: inside the word, 1-based
      await page.locator(".monaco-editor .squiggly-warning, .monaco-editor .squiggly-info").first().waitFor({ state: "attached", timeout: 45000 });
      await page.keyboard.press("Control+G");
      await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
      await page.keyboard.type(`${line}:${column}`);
      await page.keyboard.press("Enter");
      const hover = page.locator(".monaco-hover", { hasText: /privileged/i }).first();
      // The mouse first, as a user would: onto the warning squiggle drawn on that line. The editor
      // may still be laying out after the jump (a line element without a box yet, a hover swallowed),
      // so each part is retried, and if the mouse never brings the hover up, it is asked for at the
      // cursor (Ctrl+K Ctrl+I), which is on the same instruction.
      let shown = false;
      for (let attempt = 0; attempt < 3 && !shown; attempt++) {
        const lineBox = await page.locator(".monaco-editor .view-line", { hasText: /inb\s+%dx/ }).first().boundingBox({ timeout: 5000 }).catch(() => null);
        if (!lineBox) continue;
        const boxes = await page.locator(".monaco-editor .squiggly-warning").evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; }));
        const box = boxes.find((b) => Math.abs(b.y + b.height / 2 - (lineBox.y + lineBox.height / 2)) < lineBox.height);
        if (!box) {
          await page.waitForTimeout(500); // decorations render just after the scroll
          continue;
        }
        await page.mouse.move(10, 10);
        await page.mouse.move(box.x + Math.min(box.width / 2, 10), box.y + box.height / 2);
        await page.mouse.move(box.x + Math.min(box.width / 2, 12), box.y + box.height / 2 - 2);
        shown = await hover.waitFor({ state: "visible", timeout: 5000 }).then(() => true, () => false);
      }
      if (!shown) {
        await page.mouse.move(10, 10);
        await page.keyboard.press("Control+K");
        await page.keyboard.press("Control+I");
        await hover.waitFor({ state: "visible", timeout: 10000 });
      }
      // Either way the squiggle is there: the diagnostic itself is checked, not only the hover.
      const squiggles = await page.locator(".monaco-editor .squiggly-warning").count();
      if (squiggles === 0) throw new Error("no warning squiggles in hello.S");
      await shot("ui-2-hover");
      await page.mouse.move(10, 10);
    });
    await step("!Afterburn & Run from the palette: console output in the terminal", async () => {
      await palette("Afterburner: Afterburn & Run");
      // The terminal draws only the rows in view, and the trap report after the greeting can scroll it
      // out between two of Playwright's polls: so the panel is maximized while the guest runs, and the
      // rows are read at every frame (each text is caught while it is on screen).
      await page.locator(".terminal .xterm-rows").first().waitFor({ timeout: 60000 });
      await palette("View: Toggle Maximized Panel");
      const seen = await page.waitForFunction(
        (wanted) => {
          const w = /** @type {any} */ (window);
          w.__abSeen ??= new Set();
          const text = Array.from(document.querySelectorAll(".terminal .xterm-rows"), (e) => e.textContent ?? "").join("\n");
          for (const t of wanted) if (text.includes(t)) w.__abSeen.add(t);
          return wanted.every((t) => w.__abSeen.has(t)) ? [...w.__abSeen] : false;
        },
        // The build's heading comes first, written before VS Code has opened the terminal: it must not be lost.
        ["Building hello", "$ make hello", "Running on trap", "Hello from an afterburned kernel", "[trap]"],
        { polling: "raf", timeout: 120000 },
      );
      await seen.dispose();
      await shot("ui-3-console");
      await palette("View: Toggle Maximized Panel");
    });
    await step("the Trap Ledger view is filled: backend → traps → hello.S sites", async () => {
      await page.locator(".pane-header", { hasText: "Trap Ledger" }).first().waitFor({ timeout: 20000 });
      const kindRow = page.locator(".monaco-list-row", { hasText: /^traps/ }).first();
      await page.locator(".monaco-list-row", { hasText: "cycles (last run)" }).first().waitFor({ timeout: 20000 });
      await kindRow.waitFor({ timeout: 10000 });
      await kindRow.click();
      await page.locator(".monaco-list-row", { hasText: /hello\.S:\d+/ }).first().waitFor({ timeout: 10000 });
      await shot("ui-4-trap-view");
    });
    await step("Compare Backends opens a chart of every backend", async () => {
      await palette("Afterburner: Compare Backends");
      const frame = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
      await frame.locator("svg.chart.cycles").waitFor({ timeout: 240000 });
      const bars = await frame.locator("svg.chart.cycles g.bar").count();
      if (bars < 5) throw new Error(`${bars} backend bars, expected 5`);
      await frame.locator("svg.chart.events").waitFor();
      await shot("ui-5-compare");
    });
  } finally {
    if (results.failed > 0) dumpLogs(server);
    await browser.close();
    stopServer(server);
  }
  console.log(`UI suite: ${results.passed} passed, ${results.failed} failed`);
  totals.passed += results.passed;
  totals.failed += results.failed;
}

if (only !== "ui") await apiSuite();
if (only !== "api") await uiSuite();
log(`done; screenshots in ${ARTIFACTS}`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
cleanup();
process.exit(totals.failed > 0 ? 1 : 0);
