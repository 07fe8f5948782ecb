// Standard output and error of the command-line tools. A reader that went away (`afterburn run … |
// head`) ends the command quietly, as SIGPIPE ends a C tool: Node ignores SIGPIPE, so the write fails
// with EPIPE instead, thrown by writeSync or emitted on process.stdout / process.stderr a turn later.

import { fstatSync, writeSync } from "node:fs";
import { isatty } from "node:tty";

/** 128 + SIGPIPE (13): the status a shell reports for a tool that SIGPIPE killed. */
export const EXIT_CLOSED_PIPE = 141;

/** The status when standard output cannot be written (a full disk, a file size limit). */
const EXIT_UNWRITABLE = 3;

export function isClosedPipe(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as NodeJS.ErrnoException).code === "EPIPE";
}

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/**
 * From here on an EPIPE on stdout or stderr ends the process at once with EXIT_CLOSED_PIPE and no
 * message (no one is left to read it); any other failure to write stdout is said on stderr, status 3.
 */
export function endQuietlyOnClosedPipe(program: string): void {
  for (const [fd, stream] of [[1, process.stdout], [2, process.stderr]] as const) {
    stream.on("error", (e) => {
      if (isClosedPipe(e)) process.exit(EXIT_CLOSED_PIPE);
      if (fd === 1) {
        try {
          writeSync(2, `${program}: standard output: cannot write: ${codeOf(e)}\n`);
        } catch {
          // stderr is gone too
        }
      }
      process.exit(EXIT_UNWRITABLE);
    });
  }
}

/**
 * Writes all of `data` to `fd` now, in the middle of synchronous work (a guest's console while it
 * runs): when the reader has gone, the process ends there, as SIGPIPE would end it, rather than the
 * error reaching whatever called the writer. Other errors are thrown.
 */
export function writeNow(fd: 1 | 2, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  // A file can take fewer bytes than asked (a size limit, a full disk): the rest is tried again, so the error shows.
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (e) {
      if (isClosedPipe(e)) process.exit(EXIT_CLOSED_PIPE);
      // A non-blocking pipe that is full (a parent's spawnSync made it): wait for the reader, as a blocking write would.
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") pause(1);
      else throw e;
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** A write to standard output failed (not a closed pipe): status 3 in `afterburn`'s table. */
export class StdoutError extends Error {
  constructor(cause: unknown) {
    super(`standard output: cannot write: ${codeOf(cause)}`);
  }
}

/**
 * All of `data` to stdout. A file or a device takes it at once, checked: process.stdout would drop
 * what a short write left over (output cut at a file size limit, status 0) and throw a full disk's
 * error from inside the stream. A pipe or a terminal, which may be non-blocking, is left to the stream.
 */
export function writeStdout(data: Uint8Array | string): void {
  let direct = false;
  try {
    const st = fstatSync(1);
    direct = st.isFile() || (st.isCharacterDevice() && !isatty(1)) || st.isBlockDevice();
  } catch {
    // no stdout to ask about: the stream says what is wrong
  }
  if (!direct) {
    process.stdout.write(data);
    return;
  }
  try {
    writeNow(1, data);
  } catch (e) {
    throw new StdoutError(e);
  }
}
