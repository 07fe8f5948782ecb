// Standard output that fails as it does for users: a reader that goes away (`| head`), a full disk
// (/dev/full), a file size limit (`ulimit -f`).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface Ended {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The stream that stayed open (stderr when stdout closed, and the other way round). */
  other: string;
  /** Milliseconds from the close to the exit. */
  afterClose: number;
}

/** `node script args`, its `closing` stream a pipe this side closes as soon as the first bytes come. */
export function readerGoesAway(script: string, args: readonly string[], closing: "stdout" | "stderr", input?: string | Buffer, env: NodeJS.ProcessEnv = process.env): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
    let other = "";
    let closedAt = 0;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no exit 60 s after its ${closing} closed: ${other.slice(0, 2000)}`));
    }, 60_000);
    child[closing === "stdout" ? "stderr" : "stdout"].on("data", (d: Buffer) => (other += d.toString("utf8")));
    child[closing].once("data", () => {
      closedAt = Date.now();
      child[closing].destroy();
    });
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, other, afterClose: closedAt ? Date.now() - closedAt : -1 });
    });
    child.stdin.on("error", () => {}); // it may stop before reading all of its input
    child.stdin.end(input ?? "");
  });
}

/** `node script args` with stdout on /dev/full: every write fails with ENOSPC. */
export function toFullDisk(script: string, args: readonly string[], input?: string) {
  const full = openSync("/dev/full", "w");
  try {
    return spawnSync(process.execPath, [script, ...args], { input, stdio: ["pipe", full, "pipe"], encoding: "utf8", timeout: 120_000 });
  } finally {
    closeSync(full);
  }
}

/** `node script args > file` under `ulimit -f` of `kib` KiB: a write past it is cut short, the next one fails with EFBIG. */
export function underFileSizeLimit(script: string, args: readonly string[], file: string, kib: number, input?: string) {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return spawnSync("bash", ["-c", `ulimit -f ${kib}; exec ${[process.execPath, script, ...args].map(q).join(" ")} > ${q(file)}`], { input, encoding: "utf8", timeout: 120_000 });
}
