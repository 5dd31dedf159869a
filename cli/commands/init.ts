/**
 * `lakitu init`: wires Lakitu into an existing Convex app. Plans every change first (plan.ts), refuses
 * on a conflict, asks before changing existing files (or takes --yes), then writes everything at once
 * (fs/atomic.ts). A second run finds nothing to do and says so.
 */
import { join } from "node:path";
import { defineCommand } from "../command.js";
import { CliError, UsageError } from "../errors.js";
import { writeFilesAtomically } from "../fs/atomic.js";
import { lineDiff } from "../init/diff.js";
import { readManifest } from "../init/manifest.js";
import { planInit, type Action, type PlannedFile } from "../init/plan.js";
import { PROVIDER_MODULE } from "../init/scaffold.js";
import type { Out } from "../io.js";
import { c } from "../output.js";
import { loadProject, type Project } from "../project/project.js";

const MARK: Record<Action, string> = {
  create: c.green("+ create   "),
  update: c.yellow("~ update   "),
  unchanged: c.dim("= unchanged"),
  kept: c.dim("= kept     "),
  skipped: c.dim("- skipped  "),
  conflict: c.red("! conflict "),
};

export const init = defineCommand({
  spec: {
    name: "init",
    summary: "Wires Lakitu into the Convex app in this folder: convex.config.ts, the app's functions, the E2B provider action, the reaper cron, .env.example and a lakitu/ folder for your own KSAs.",
    flags: {
      dir: { type: "string", placeholder: "folder", description: "the Convex functions folder (default: \"functions\" in convex.json, else convex/)" },
      "dry-run": { type: "boolean", description: "show what would change and write nothing" },
      yes: { type: "boolean", short: "y", description: "change existing files without asking (for scripts and CI)" },
      force: { type: "boolean", description: "overwrite files init wrote before even if you changed them" },
    },
    details: `Files init writes whole are recorded in .lakitu/init.json (sha256); one you changed is never
overwritten without --force. Existing convex.config.ts and crons.ts are edited in place, keeping
everything else in them. Nothing is written unless every change can be made.`,
  },
  async run({ flags }, io, out) {
    const project = loadProject(io.cwd, flags.dir);
    const plan = planInit(project, readManifest(project.root), { force: flags.force });
    const all = [...plan.files, plan.manifest];
    const changes = all.filter((f) => f.action === "create" || f.action === "update");
    const conflicts = all.filter((f) => f.action === "conflict");
    const summary = { root: project.root, functionsDir: project.functionsRel, dryRun: flags["dry-run"], files: all.map(publicFile) };

    out.line(`${c.bold("lakitu init")} ${project.root} ${c.dim(`(functions: ${project.functionsRel}/)`)}`);
    for (const f of plan.files) printFile(out, f, flags["dry-run"]);
    if (conflicts.length) {
      throw new CliError(
        `${conflicts.length} file${conflicts.length > 1 ? "s" : ""} cannot be changed safely; nothing was written`,
        conflicts[0].snippet?.startsWith("add this by hand") ? undefined : "merge by hand, or re-run with --force to overwrite the files you changed",
        "conflict",
        conflicts.flatMap((f) => [`${f.path}: ${f.notes.join("; ")}`, ...(f.snippet ? f.snippet.split("\n").map((l) => `  ${l}`) : [])]),
      );
    }
    if (!changes.length) {
      out.line(c.green("Nothing to do: Lakitu is already wired into this app."));
      return { ok: true, data: { ...summary, changed: false } };
    }
    if (flags["dry-run"]) {
      out.line(c.dim(`Dry run: ${changes.length} file(s) would be written; nothing was.`));
      return { ok: true, data: { ...summary, changed: false } };
    }
    const updates = changes.filter((f) => f.action === "update" && f !== plan.manifest);
    if (updates.length && !flags.yes) {
      const names = updates.map((f) => f.path).join(", ");
      if (!io.isTTY) {
        throw new UsageError(`init would change existing files (${names}) and there is no terminal to ask`, "run again with --yes to apply, or --dry-run to see the changes first");
      }
      if (!(await io.confirm(`Change ${names}?`))) {
        out.line("Nothing written.");
        return { ok: false, data: { ...summary, changed: false, declined: true } };
      }
    }
    writeFilesAtomically(changes.map((f) => ({ path: join(project.root, f.path), content: f.after! })));
    out.line(c.green(`Wrote ${changes.length} file(s).`));
    printNextSteps(out, project);
    return { ok: true, data: { ...summary, changed: true } };
  },
});

function printFile(out: Out, f: PlannedFile, dryRun: boolean): void {
  const notes = f.notes.length ? c.dim(` — ${f.notes.join("; ")}`) : "";
  out.line(`  ${MARK[f.action]} ${f.path.padEnd(34)} ${c.dim(f.what)}${notes}`);
  if (!dryRun || (f.action !== "update" && f.action !== "create" && f.action !== "conflict")) return;
  if (f.action === "create") out.line(c.dim(`      (${f.after!.split("\n").length} lines)`));
  else if (f.before !== undefined && f.after !== undefined) for (const l of lineDiff(f.before, f.after)) out.line(`      ${colorDiff(l)}`);
}

const colorDiff = (l: string) => (l.startsWith("+") ? c.green(l) : l.startsWith("-") ? c.red(l) : c.dim(l));

function publicFile(f: PlannedFile) {
  return { path: f.path, action: f.action, notes: f.notes };
}

function printNextSteps(out: Out, project: Project): void {
  const deps = { ...project.packageJson.dependencies, ...project.packageJson.devDependencies };
  const missing = ["lakitu", "zod"].filter((d) => !(d in deps));
  const fn = project.functionsRel;
  const steps = [
    `Fill in the ${c.yellow("⚠️ AUTH CHECK")} in ${fn}/lakitu.ts.`,
    ...(missing.length ? [`npm install ${missing.join(" ")}`] : []),
    `npx convex dev  ${c.dim("(regenerates _generated/ with components.lakitu and internal.lakitu)")}`,
    `npx convex env set E2B_API_KEY e2b_...  ${c.dim("and a model key, e.g. OPENAI_API_KEY (see .env.example)")}`,
    `npx lakitu build && npx lakitu publish  ${c.dim("(builds the sandbox template on E2B and pins it)")}`,
  ];
  out.line();
  out.line(c.bold("Next steps"));
  steps.forEach((s, i) => out.line(`  ${i + 1}. ${s}`));
  out.line(c.dim(`  Sandboxes on this machine instead of E2B: npx lakitu sandbox serve (${fn}/${PROVIDER_MODULE}.ts reads what it prints).`));
}
