// Text from specs, object keys and files ends up in gRPC status messages, trailers, log lines and
// error messages. Every such sink needs valid UTF-8 of bounded length: grpc-js throws (and the
// process dies) on a status message with a lone UTF-16 surrogate, and a 10 MB value echoed into a
// message helps nobody. safeText makes any string safe for all of them.

/** Longest message text kept; longer text is cut with a note of how much was dropped. */
export const MAX_MESSAGE_CHARS = 4096;

/** `text` with lone surrogates escaped as \uXXXX and cut to at most `max` characters. */
export function safeText(text: string, max = MAX_MESSAGE_CHARS): string {
  const wellFormed = text.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
  if (wellFormed.length <= max) return wellFormed;
  let cut = max;
  // Never split a surrogate pair.
  if (/[\ud800-\udbff]/.test(wellFormed[cut - 1]!)) cut--;
  return `${wellFormed.slice(0, cut)}... (${wellFormed.length - cut} more characters)`;
}
