// Bundles every entry point into dist/ with esbuild: one bundle per entry.
import { build } from "esbuild";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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
const results = await Promise.all(entries.map(([src, out]) => build({
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
  write: false,
})));
// Each file is written beside its place and renamed over it: a program started from dist/ while a
// build runs (the test suites rebuild it, two at a time) loads the old bundle or the new one, never a
// half-written one. A half-written afterburn-cc.js loaded as an empty module and exited 0 without
// compiling, and make went on to link an object that was never made.
for (const r of results) {
  for (const f of r.outputFiles) {
    mkdirSync(dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
}
console.log(`built ${entries.length} bundles into dist/`);
