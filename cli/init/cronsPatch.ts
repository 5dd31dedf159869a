/**
 * Adds the reaper to the app's `crons.ts`:
 *
 *   crons.interval("lakitu reaper", { minutes: 1 }, internal.lakitu.reap, {});
 *
 * importing `internal` from ./_generated/api when the file does not already. A file that already
 * schedules `internal.lakitu.reap` (or a job named "lakitu reaper") is left alone.
 */
import {
  applyEdits,
  detectStyle,
  ensureNamedImport,
  findCallDeclaration,
  insertStatementAfter,
  ManualStepError,
  memberCallStatements,
  namedImportLocal,
  parseTs,
  type Edit,
  type Style,
} from "./tsEdit.js";

export const REAPER_JOB = "lakitu reaper";

export const NEW_CRONS = `import { cronJobs } from "convex/server";

const crons = cronJobs();

export default crons;
`;

export function patchCrons(code: string, importExt: string): { code: string; notes: string[] } {
  const body = parseTs(code);
  const style = detectStyle(code, body);
  if (/internal\s*\.\s*lakitu\s*\.\s*reap\b/.test(code) || code.includes(REAPER_JOB)) {
    return { code, notes: ["the reaper is already scheduled"] };
  }
  const cronJobs = namedImportLocal(body, ["convex/server"], "cronJobs");
  const decl = cronJobs ? findCallDeclaration(body, cronJobs) : undefined;
  if (!decl) {
    throw new ManualStepError("crons.ts has no `const crons = cronJobs()` to add the reaper to", reaperStatement("crons", "internal", style));
  }
  const edits: Edit[] = [];
  const internal = ensureNamedImport(code, body, ["./_generated/api", "./_generated/api.js"].sort((a) => (a.endsWith(".js") === Boolean(importExt) ? -1 : 1)), "internal", style);
  if (internal.edit) edits.push(internal.edit);
  const jobs = memberCallStatements(body, decl.name);
  const anchor = jobs.length ? jobs[jobs.length - 1] : decl.stmt;
  edits.push(insertStatementAfter(code, anchor, reaperStatement(decl.name, internal.local, style), style));
  const out = applyEdits(code, edits);
  parseTs(out);
  return { code: out, notes: [`scheduled ${REAPER_JOB} every minute`] };
}

function reaperStatement(crons: string, internal: string, style: Style): string {
  return `// Lakitu: kills idle and overdue sandboxes, retries unconfirmed kills, reconciles lost sessions.\n${crons}.interval(${style.quote}${REAPER_JOB}${style.quote}, { minutes: 1 }, ${internal}.lakitu.reap, {})${style.semi}`;
}
