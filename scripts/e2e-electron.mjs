// The API suite of the end-to-end tests (test/e2e/api) in a desktop VS Code, the way
// @vscode/test-electron runs extension tests: a fresh user-data dir, this folder as the development
// extension, .e2e/out/api/index.js as extensionTestsPath, a copy of examples/ as the workspace.
//   VSCODE_EXECUTABLE=/path/to/code npm run test:electron    use an installed VS Code (>= 1.100)
//   npm run test:electron                                    download one with @vscode/test-electron
// Without either (no VSCODE_EXECUTABLE and no @vscode/test-electron, or no network) it says so and
// exits 1: a run that was asked for and could not happen is a failure, not a skip.
// CI uses code-server instead (`npm run test:e2e`), because CI cannot download VS Code.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

let testElectron;
try {
  testElectron = require("@vscode/test-electron");
} catch {
  testElectron = undefined;
}
const executable = process.env.VSCODE_EXECUTABLE;
if (executable && !existsSync(executable)) {
  console.error(`test:electron: VSCODE_EXECUTABLE=${executable} does not exist`);
  process.exit(1);
}
if (!executable && !testElectron) {
  console.error(
    "test:electron: no VS Code to run. Set VSCODE_EXECUTABLE to an installed VS Code (>= 1.100, e.g. /usr/share/code/code),\n" +
      "or install @vscode/test-electron (npm i -D @vscode/test-electron) on a machine that can download VS Code.\n" +
      "The same API suite runs offline in code-server with `npm run test:e2e`.",
  );
  process.exit(1);
}

const r = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
const outDir = join(root, ".e2e", "out");
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

const run = mkdtempSync(join(tmpdir(), "afterburner-electron-"));
const workspace = join(run, "ws");
cpSync(join(root, "examples"), workspace, { recursive: true, filter: (s) => !/[\\/]build(?:[\\/]|$)/.test(s.slice(join(root, "examples").length)) });
const results = join(run, "results.json");
const launchArgs = [workspace, "--user-data-dir", join(run, "ud"), "--extensions-dir", join(run, "ext"), "--disable-workspace-trust", "--skip-welcome", "--skip-release-notes", "--disable-telemetry"];
const env = { ...process.env, E2E_RESULTS: results };
let code = 1;
try {
  if (testElectron) {
    code = await testElectron
      .runTests({
        vscodeExecutablePath: executable,
        version: executable ? undefined : "1.100.3",
        extensionDevelopmentPath: root,
        extensionTestsPath: join(outDir, "api", "index.js"),
        launchArgs,
        extensionTestsEnv: env,
      })
      .then(() => 0, (e) => (console.error(`test:electron: ${e.message ?? e}`), 1));
  } else {
    const p = spawnSync(executable, [...launchArgs, `--extensionDevelopmentPath=${root}`, `--extensionTestsPath=${join(outDir, "api", "index.js")}`], { env, stdio: "inherit" });
    code = p.status ?? 1;
  }
  if (existsSync(results)) {
    const json = JSON.parse(readFileSync(results, "utf8"));
    for (const t of json.passes ?? []) console.log(`  ✔ ${t.fullTitle}`);
    for (const t of json.failures ?? []) console.log(`  ✘ ${t.fullTitle}\n      ${t.err?.message ?? ""}`);
    console.log(`${json.stats?.passes ?? 0} passed, ${json.stats?.failures ?? 0} failed`);
    if ((json.stats?.failures ?? 0) > 0 || (json.stats?.tests ?? 0) === 0) code = 1;
  } else {
    console.error("test:electron: VS Code wrote no results (did the extension host start?)");
    code = 1;
  }
} finally {
  rmSync(run, { recursive: true, force: true });
}
process.exit(code);
