// Diagnostics quote the source text they complain about. Text made by an expansion can be a
// megabyte long (a recursive macro doubling its argument), and a message quoting it in full is a
// megabyte of JSON in every publish and a wall of text in the Problems view.

/** Quoted text longer than this is cut to it. */
const QUOTE_MAX = 80;
/** A message longer than this after quotes are cut is cut too. */
const MESSAGE_MAX = 2000;
const LONG_QUOTE = new RegExp(`'([^'\\n]{${QUOTE_MAX + 1},})'`, "g");

/** Cuts s to at most n UTF-16 units without splitting a surrogate pair. */
function cutAt(s: string, n: number): string {
  if (s.length <= n) return s;
  const end = (s.charCodeAt(n - 1) & 0xfc00) === 0xd800 ? n - 1 : n;
  return s.slice(0, end);
}

/** The message with long quoted text ('…') shortened, saying how long it was; short messages unchanged. */
export function boundedMessage(message: string): string {
  if (message.length <= QUOTE_MAX * 2) return message;
  const cut = message.replace(LONG_QUOTE, (_, q: string) => `'${cutAt(q, QUOTE_MAX)}…' (${q.length.toLocaleString("en")} characters)`);
  return cut.length <= MESSAGE_MAX ? cut : `${cutAt(cut, MESSAGE_MAX)}… (${message.length.toLocaleString("en")} characters)`;
}

/** Source text to quote in a message or hover: cut to QUOTE_MAX characters, with an ellipsis, when longer. */
export function boundedQuote(text: string): string {
  return text.length <= QUOTE_MAX ? text : `${cutAt(text, QUOTE_MAX)}…`;
}
