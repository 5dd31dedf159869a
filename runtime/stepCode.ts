/**
 * A step's code on both sides of the executor: TypeScript/ESM transpiled to CommonJS JavaScript for it
 * (sucrase, same line numbers), and how it failed, read back into what the model sees.
 */
import { transform } from "sucrase";
import type { SerializedError } from "./workerProtocol.js";
import type { StepErrorKind, StepResult } from "./executor.js";

export type Transpiled = { ok: true; js: string } | { ok: false; message: string };

/** TypeScript/ESM → CommonJS JavaScript with the same line numbers; syntax errors as a readable message. */
export function transpile(code: string, filename: string): Transpiled {
  try {
    return { ok: true, js: transform(code, { transforms: ["typescript", "imports"], filePath: filename, disableESTransforms: true }).code };
  } catch (e) {
    const err = e as Error & { loc?: { line: number; column: number } };
    const message = err.message.replace(/^Error transforming [^:]*: /, "");
    return { ok: false, message: `SyntaxError: ${message}${err.loc ? `\n${codeFrame(code, err.loc.line, err.loc.column)}` : ""}` };
  }
}

function codeFrame(code: string, line: number, column: number): string {
  const lines = code.split("\n");
  const text = lines[line - 1];
  if (text === undefined) return "";
  const gutter = `${line} | `;
  return `${gutter}${text}\n${" ".repeat(gutter.length - 2)}| ${" ".repeat(Math.max(0, column))}^`;
}

/** How a step whose process ended before reporting `done` failed. */
export function exitError(code: number | null, signal: NodeJS.Signals | null, reason: string | undefined, heapMb: number): NonNullable<StepResult["error"]> {
  if (reason) return { kind: "crash", message: reason };
  // V8 aborts (SIGABRT, or exit 134 through a shell) when the heap limit is reached.
  if (signal === "SIGABRT" || code === 134) return { kind: "crash", message: `the step ran out of memory (heap limit ${heapMb} MiB)` };
  if (signal) return { kind: "crash", message: `the step process was killed (${signal})` };
  return { kind: "runtime", message: `the step called process.exit(${code})` };
}

export function failed(kind: StepErrorKind, message: string, durationMs: number): StepResult {
  return { ok: false, output: "", outputBytes: 0, truncatedBytes: 0, error: { kind, message }, durationMs };
}

/** Keeps the message and the stack frames that point into the step's own code. */
export function stepError(e: SerializedError, phase: "compile" | "run" | undefined, filename: string, lineCount: number): NonNullable<StepResult["error"]> {
  const kind: StepErrorKind = phase === "compile" ? "syntax" : "runtime";
  if (!e.stack) return { kind, message: `${e.name}: ${e.message}` };
  const lines = e.stack.split("\n");
  const head: string[] = [];
  const frames: string[] = [];
  for (const line of lines) {
    if (/^\s+at /.test(line)) {
      // Frames in the step's own lines; the line after them is the wrapper that called it.
      const at = new RegExp(`${filename.replace(/[.]/g, "\\.")}:(\\d+):`).exec(line);
      if (at && Number(at[1]) <= lineCount && frames.length < 5) frames.push(line);
    } else if (frames.length === 0 && head.length < 8) head.push(line);
  }
  const stack = [...head, ...frames].join("\n").trimEnd();
  return { kind, message: `${e.name}: ${e.message}`, stack };
}

