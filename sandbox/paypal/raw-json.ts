// The exact text of a member of a JSON object, without re-serializing it. PayPal verifies a webhook
// transmission against the CRC32 of the event bytes posted to verify-webhook-signature, so the
// sandbox must see those bytes, not a parse-and-stringify of them.

function skipWhitespace(text: string, index: number): number {
  while (index < text.length && /\s/.test(text[index]!)) index += 1;
  return index;
}

/** Index just past the string literal starting at `index` (a `"`). */
function stringEnd(text: string, index: number): number {
  let i = index + 1;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '\\') i += 2;
    else if (char === '"') return i + 1;
    else i += 1;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just past the JSON value starting at `index`. */
function valueEnd(text: string, index: number): number {
  const first = text[index];
  if (first === '"') return stringEnd(text, index);
  if (first === '{' || first === '[') {
    let depth = 0;
    let i = index;
    while (i < text.length) {
      const char = text[i]!;
      if (char === '"') {
        i = stringEnd(text, i);
        continue;
      }
      if (char === '{' || char === '[') depth += 1;
      else if (char === '}' || char === ']') {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
      i += 1;
    }
    throw new SyntaxError('unterminated value');
  }
  let i = index;
  while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i += 1;
  return i;
}

/** The raw text of the top-level member `key` of the JSON object `text`; undefined if absent or not an object. */
export function rawMember(text: string, key: string): string | undefined {
  try {
    let i = skipWhitespace(text, 0);
    if (text[i] !== '{') return undefined;
    i += 1;
    while (i < text.length) {
      i = skipWhitespace(text, i);
      if (text[i] !== '"') return undefined;
      const nameEnd = stringEnd(text, i);
      const name = JSON.parse(text.slice(i, nameEnd)) as string;
      i = skipWhitespace(text, nameEnd);
      if (text[i] !== ':') return undefined;
      const start = skipWhitespace(text, i + 1);
      const end = valueEnd(text, start);
      if (name === key) return text.slice(start, end);
      i = skipWhitespace(text, end);
      if (text[i] !== ',') return undefined;
      i += 1;
    }
    return undefined;
  } catch {
    return undefined;
  }
}
