/**
 * Limits checked on raw JSON text before `JSON.parse`, without recursion: a deeply nested body is
 * refused with a clear message instead of overflowing a stack (in the parser, in `JSON.stringify`, or
 * in Convex's value encoding, which refuses values nested deeper than 16).
 */

/** Convex's nesting limit for values: a JSON body nested deeper is refused before parsing. */
export const MAX_JSON_DEPTH = 16;

/**
 * The deepest nesting of arrays and objects in `text`, scanning once and stopping as soon as it
 * passes `stopAbove` (so the cost is linear and the answer is `stopAbove + 1` for anything deeper).
 * Brackets inside strings do not count. Malformed JSON is left for `JSON.parse` to report.
 */
export function jsonDepth(text: string, stopAbove = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}
