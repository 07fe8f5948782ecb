// Runs every test/**/*.test.ts with node's built-in test runner (TypeScript through tsx).
// Arguments narrow the run: `node scripts/test.mjs core/asm` runs the tests under test/core/asm.
// test/e2e is left to `npm run test:e2e`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const testRoot = join(root, "test");
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p === join(testRoot, "e2e") || name === "fixtures" || name === "node_modules") continue;
      walk(p, out);
    } else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = walk(testRoot, []).filter((f) => {
  const rel = relative(testRoot, f);
  return filters.length === 0 || filters.some((x) => rel.startsWith(x) || rel.includes(x));
});
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ") || "test/**/*.test.ts"}`);
  process.exit(1);
}
// A test that hangs fails after ten minutes with its name, instead of holding CI to its limit;
// the slowest test takes about a minute here.
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=600000", ...files], {
  cwd: root,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
