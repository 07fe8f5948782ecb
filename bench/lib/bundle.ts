// Project modules as esbuild bundles them into dist/ (scripts/build.mjs's settings), for the benches
// that time code in their own process. Loaded through tsx instead, every closure gets a name-keeping
// wrapper (on the afterburner's fast path that alone cost about a quarter): not what users run.
import { buildSync } from "esbuild";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
/** The packages scripts/build.mjs leaves external. */
const EXTERNAL: string[] = JSON.parse(readFileSync(join(ROOT, "scripts", "externals.json"), "utf8"));

/**
 * Bundles a TypeScript entry (module text, imports relative to the project root) into `out`. Its
 * external packages resolve only from a folder under the project (see loadBundled).
 */
export function bundleTo(source: string, out: string): void {
  buildSync({
    absWorkingDir: ROOT,
    stdin: { contents: source, resolveDir: ROOT, loader: "ts", sourcefile: "bench-entry.ts" },
    outfile: out,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: EXTERNAL,
    logLevel: "warning",
  });
}

/**
 * Bundles and loads an entry. The bundle is written under node_modules/.cache so that its external
 * packages resolve as dist/'s do.
 */
export function loadBundled<T>(name: string, source: string): T {
  const dir = join(ROOT, "node_modules", ".cache", "afterburn-bench");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}.js`);
  bundleTo(source, out);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(out) as T;
}
