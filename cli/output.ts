/** Terminal output: colors only on a TTY and never with NO_COLOR set. */
const useColor = () => Boolean(process.stdout.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";
const wrap = (code: number) => (s: string) => (useColor() ? `\u001b[${code}m${s}\u001b[0m` : s);
export const c = { bold: wrap(1), dim: wrap(2), red: wrap(31), green: wrap(32), yellow: wrap(33), blue: wrap(34), magenta: wrap(35), cyan: wrap(36) };

export function line(s = ""): void {
  process.stdout.write(`${s}\n`);
}
