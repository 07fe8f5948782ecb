// Bundles every entry point into dist/ with esbuild: one bundle per entry.
import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Packages that load their own .wasm files relative to their install folder stay external (and the
// vscode API, which the editor provides). The list is shared with the benches' bundles.
const external = JSON.parse(readFileSync(join(root, "scripts", "externals.json"), "utf8"));
const entries = [
  ["cli/afterburn.ts", "dist/afterburn.js"],
  ["cli/afterburn-cc.ts", "dist/afterburn-cc.js"],
  ["server/main.ts", "dist/server.js"],
  ["debugger/main.ts", "dist/debugger.js"],
  ["client/extension.ts", "dist/extension.js"],
].filter(([src]) => existsSync(join(root, src)));

const watch = process.argv.includes("--watch");
await Promise.all(entries.map(([src, out]) => build({
  absWorkingDir: root,
  entryPoints: [src],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: true,
  external,
  logLevel: watch ? "info" : "warning",
})));
console.log(`built ${entries.length} bundles into dist/`);
