/**
 * The CLI's error classes. Commands throw them; `main.ts` alone prints them and picks the exit code:
 * `CliError` → 1 (the command ran and failed), `UsageError` → 2 (bad command line).
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A failure the user can act on: `message` says what is wrong, `hint` what to do about it. */
export class CliError extends Error {
  readonly exitCode: number = EXIT_FAILED;
  constructor(
    message: string,
    readonly hint?: string,
    /** Stable machine-readable code for `--json` output. */
    readonly code: string = "failed",
    /** More lines to print under the message (e.g. one per invalid KSA). */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** The command line itself is wrong (unknown flag, bad value, missing argument). */
export class UsageError extends CliError {
  override readonly exitCode: number = EXIT_USAGE;
  constructor(message: string, hint?: string) {
    super(message, hint, "usage");
    this.name = "UsageError";
  }
}
