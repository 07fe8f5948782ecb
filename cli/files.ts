// File output that never leaves a half-written file behind: write a sibling, then rename.

import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** `data` may be a writer that fills the sibling file at a path it is given (output that is never one string). */
export function writeFileAtomic(path: string, data: string | Uint8Array | ((path: string) => void)): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    if (typeof data === "function") data(tmp);
    else writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
