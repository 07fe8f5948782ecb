#!/usr/bin/env node
// Thin launcher: the real program is the esbuild bundle dist/afterburn-cc.js (built by `npm ci` / `npm run build`).
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const bundle = join(__dirname, "..", "dist", "afterburn-cc.js");
if (!existsSync(bundle)) {
  process.stderr.write("afterburn-cc: " + bundle + " is missing; run `npm run build` in " + join(__dirname, "..") + "\n");
  process.exit(70);
}
require(bundle);
