// The stdio transport: the connection createConnection() makes for --stdio, with the fast
// publishDiagnostics encoder of diagnosticJson.ts and a reader that counts waiting didChange
// notifications (so a change already superseded is analysed but not published).

import {
  createConnection,
  StreamMessageReader,
  type DataCallback,
  type Disposable,
  StreamMessageWriter,
  type Connection,
  type ContentTypeEncoder,
} from "vscode-languageserver/node";
import { inspect } from "node:util";
import { encodeMessage } from "./diagnosticJson.js";

const encoder: ContentTypeEncoder = {
  name: "application/json",
  encode: (msg) => {
    try {
      // The writer encodes a message only once the one before it is written (its write callback has
      // run); the check says so for any writer, so an earlier buffer can take this message.
      return Promise.resolve(encodeMessage(msg, process.stdout.writableLength === 0));
    } catch (e) {
      return Promise.reject(e);
    }
  },
};

/**
 * didChange notifications read off the wire and not yet handled, per document URI. The reader
 * parses a whole chunk of input at once, while the connection hands the messages to their handlers
 * one per event-loop turn; so when keystrokes arrive faster than they are analysed, a handler can
 * tell that a newer version of its document is already waiting and leave the publish to it.
 */
const changesWaiting = new Map<string, number>();

class ChangeCountingReader extends StreamMessageReader {
  override listen(callback: DataCallback): Disposable {
    return super.listen((msg) => {
      const uri = (msg as { method?: unknown; params?: { textDocument?: { uri?: unknown } } }).params?.textDocument?.uri;
      if ((msg as { method?: unknown }).method === "textDocument/didChange" && typeof uri === "string") changesWaiting.set(uri, (changesWaiting.get(uri) ?? 0) + 1);
      callback(msg);
    });
  }
}

/** Called as a didChange for `uri` is handled: whether a later didChange for it is already read and waiting. */
export function changeSuperseded(uri: string): boolean {
  const n = (changesWaiting.get(uri) ?? 1) - 1;
  if (n <= 0) changesWaiting.delete(uri);
  else changesWaiting.set(uri, n);
  return n > 0;
}

/**
 * The connection over stdin/stdout, as createConnection() makes it for --stdio (exit when stdin ends,
 * console output to the client's log instead of stdout), with the encoder above.
 */
export function createStdioConnection(): Connection {
  const connection = createConnection(new ChangeCountingReader(process.stdin), new StreamMessageWriter(process.stdout, { contentTypeEncoder: encoder, charset: "utf-8" }));
  let shutdown = false;
  // (startServer registers no shutdown handler of its own; one registered later would replace this one.)
  connection.onShutdown(() => {
    shutdown = true;
  });
  const exit = () => process.exit(shutdown ? 0 : 1);
  process.stdin.on("end", exit);
  process.stdin.on("close", exit);
  // stdout carries the protocol: anything printed through console goes to the client's log.
  const text = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" ");
  console.log = (...args: unknown[]) => connection.console.log(text(args));
  console.info = (...args: unknown[]) => connection.console.info(text(args));
  console.debug = (...args: unknown[]) => connection.console.log(text(args));
  console.warn = (...args: unknown[]) => connection.console.warn(text(args));
  console.error = (...args: unknown[]) => connection.console.error(text(args));
  console.trace = (...args: unknown[]) => connection.console.log(`Trace${args.length > 0 ? `: ${text(args)}` : ""}\n${new Error().stack?.replace(/(.+\n){2}/, "") ?? ""}`);
  console.dir = (arg: unknown) => connection.console.log(inspect(arg));
  return connection;
}
