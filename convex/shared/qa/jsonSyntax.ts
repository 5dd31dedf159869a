/**
 * JSON syntax error location: only used after JSON.parse failed, to say where and why (iterative,
 * bounded by the text).
 */
import { showChar } from "./text.js";

/** Finds the first JSON syntax error: `{ position, message }`, or null if the text is valid. */
export function jsonSyntaxError(s: string): { position: number; message: string } | null {
  const n = s.length;
  let i = 0;
  const OBJ = 1;
  const ARR = 2;
  const stack: number[] = [];
  const err = (message: string) => ({ position: i, message });
  const ws = () => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const scanString = (): { position: number; message: string } | null => {
    i++; // opening quote
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return null;
      }
      if (c === 0x5c) {
        const e = s[i + 1];
        if (e === undefined) break;
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
            i += 2;
            return err("invalid \\u escape in string (needs 4 hex digits)");
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) {
          i++;
          return err(`invalid escape \\${e} in string`);
        }
        i += 2;
        continue;
      }
      if (c < 0x20) return err("unescaped control character (e.g. a raw newline or tab) inside a string");
      i++;
    }
    return err("unterminated string");
  };
  const scanNumber = (): { position: number; message: string } | null => {
    const start = i;
    if (s[i] === "-") i++;
    if (s[i] === "0") i++;
    else if (s[i] !== undefined && s[i] >= "1" && s[i] <= "9") while (s[i] >= "0" && s[i] <= "9") i++;
    else return err(`invalid number ${JSON.stringify(s.slice(start, i + 1))}`);
    if (s[i] === ".") {
      i++;
      if (!(s[i] >= "0" && s[i] <= "9")) return err("invalid number: expected digits after the decimal point");
      while (s[i] >= "0" && s[i] <= "9") i++;
    }
    if (s[i] === "e" || s[i] === "E") {
      i++;
      if (s[i] === "+" || s[i] === "-") i++;
      if (!(s[i] >= "0" && s[i] <= "9")) return err("invalid number: expected digits in the exponent");
      while (s[i] >= "0" && s[i] <= "9") i++;
    }
    return null;
  };
  const expectKey = (): { position: number; message: string } | null => {
    ws();
    if (s[i] !== '"') {
      if (s[i] === "}") return err('unexpected "}" after a comma (trailing commas are not allowed in JSON)');
      if (s[i] === "'") return err("property names must use double quotes, not single quotes");
      return err(`expected a property name in double quotes, found ${showChar(s[i])}`);
    }
    const e = scanString();
    if (e) return e;
    ws();
    if (s[i] !== ":") return err(`expected ":" after the property name, found ${showChar(s[i])}`);
    i++;
    return null;
  };

  for (;;) {
    // Expect a value.
    ws();
    const c = s[i];
    let e: { position: number; message: string } | null = null;
    let opened = false;
    if (c === undefined) return err("unexpected end of input, expected a value");
    if (c === "{") {
      i++;
      ws();
      if (s[i] === "}") i++;
      else {
        stack.push(OBJ);
        e = expectKey();
        opened = true;
      }
    } else if (c === "[") {
      i++;
      ws();
      if (s[i] === "]") i++;
      else {
        stack.push(ARR);
        opened = true;
      }
    } else if (c === '"') e = scanString();
    else if (c === "-" || (c >= "0" && c <= "9")) e = scanNumber();
    else if (s.startsWith("true", i)) i += 4;
    else if (s.startsWith("false", i)) i += 5;
    else if (s.startsWith("null", i)) i += 4;
    else if (c === "]" || c === "}") return err(`unexpected ${showChar(c)}, expected a value (trailing comma?)`);
    else if (c === "'") return err("strings must use double quotes, not single quotes");
    else if (c === "/") return err("comments are not allowed in JSON");
    else return err(`unexpected ${showChar(c)}, expected a value`);
    if (e) return e;
    if (opened) continue;

    // After a complete value: close containers or move to the next element.
    for (;;) {
      ws();
      if (stack.length === 0) {
        if (i < n) return err(`unexpected ${showChar(s[i])} after the end of the JSON value`);
        return null;
      }
      const top = stack[stack.length - 1];
      const close = top === OBJ ? "}" : "]";
      if (i >= n) return err(`unexpected end of input, expected "," or "${close}"`);
      if (s[i] === ",") {
        i++;
        if (top === OBJ) {
          const ke = expectKey();
          if (ke) return ke;
        }
        break;
      }
      if (s[i] === close) {
        i++;
        stack.pop();
        continue;
      }
      return err(
        `expected "," or "${close}" after ${top === OBJ ? "a property value" : "an array element"}, found ${showChar(s[i])}`,
      );
    }
  }
}
