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
import type { Io, Out } from "../io.js";
import { installCommands, missingDependencies, packageManager } from "../init/deps.js";
import { lakituPackage } from "../build/packageRoot.js";
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
    summary: "Wires Lakitu into the Convex app in this folder: convex.config.ts, the app's functions, the E2B provider action, .env.example and a lakitu/ folder for your own KSAs.",
    flags: {
      dir: { type: "string", placeholder: "folder", description: "the Convex functions folder (default: \"functions\" in convex.json, else convex/)" },
      "dry-run": { type: "boolean", description: "show what would change and write nothing" },
      yes: { type: "boolean", short: "y", description: "change existing files without asking (for scripts and CI)" },
      force: { type: "boolean", description: "overwrite files init wrote before even if you changed them" },
      "skip-install": { type: "boolean", description: "do not install missing packages (lakitu, zod, @types/node); print the command instead" },
    },
    details: `Files init writes whole are recorded in .lakitu/init.json (sha256); one you changed is never
overwritten without --force. An existing convex.config.ts is edited in place, keeping
everything else in it. Nothing is written unless every change can be made. With --yes, the packages
the written files import and the app lacks are installed with the app's package manager.`,
  },
  async run({ flags }, io, out) {
    const project = loadProject(io.cwd, flags.dir);
    const plan = planInit(project, readManifest(project.root), { force: flags.force });
    const all = [...plan.files, plan.manifest];
    const changes = all.filter((f) => f.action === "create" || f.action === "update");
    const conflicts = all.filter((f) => f.action === "conflict");
    const summary = { root: project.root, functionsDir: project.functionsRel, dryRun: flags["dry-run"], files: all.map(publicFile) };

    out.line(`${c.bold("lakitu init")} ${project.root} ${c.dim(`(functions: ${project.functionsRel}/)`)}`);
    for (const f of all) printFile(out, f, flags["dry-run"]);
    if (conflicts.length) {
      throw new CliError(
        `${conflicts.length} file${conflicts.length > 1 ? "s" : ""} cannot be changed safely; nothing was written`,
        conflicts[0].snippet?.startsWith("add this by hand") ? undefined : "merge by hand, or re-run with --force to overwrite the files you changed",
        "conflict",
        conflicts.flatMap((f) => [`${f.path}: ${f.notes.join("; ")}`, ...(f.snippet ? f.snippet.split("\n").map((l) => `  ${l}`) : [])]),
      );
    }
    const install = installCommands(packageManager(project.root), missingDependencies(project, lakituPackage().version));
    const installText = install.map((i) => [i.cmd, ...i.args].join(" "));
    if (flags["dry-run"]) {
      for (const cmd of installText) out.line(`  ${c.yellow("~ install  ")} ${cmd}`);
      out.line(c.dim(`Dry run: ${changes.length} file(s) would be written${installText.length ? ` and ${installText.length} install command(s) run` : ""}; nothing was.`));
      return { ok: true, data: { ...summary, changed: false, install: installText } };
    }
    if (!changes.length && !install.length) {
      out.line(c.green("Nothing to do: Lakitu is already wired into this app."));
      return { ok: true, data: { ...summary, changed: false, install: [] } };
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
    if (changes.length) {
      writeFilesAtomically(changes.map((f) => ({ path: join(project.root, f.path), content: f.after! })));
      out.line(c.green(`Wrote ${changes.length} file(s).`));
    }
    const installed = flags.yes && !flags["skip-install"] ? await runInstall(io, out, project.root, install) : [];
    printNextSteps(out, project, installText.filter((t) => !installed.includes(t)));
    return { ok: true, data: { ...summary, changed: changes.length > 0, install: installText, installed } };
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

/** Runs each install command; a failure is reported, not fatal (the files are written either way). */
async function runInstall(io: Io, out: Out, root: string, commands: Array<{ cmd: string; args: string[] }>): Promise<string[]> {
  const done: string[] = [];
  for (const { cmd, args } of commands) {
    const text = [cmd, ...args].join(" ");
    out.line(c.dim(`$ ${text}`));
    const code = await io.exec(cmd, args, root);
    if (code === 0) done.push(text);
    else out.warn(`${text} exited with code ${code}; run it yourself`);
  }
  return done;
}

function printNextSteps(out: Out, project: Project, install: string[]): void {
  const fn = project.functionsRel;
  const steps = [
    ...install,
    `Fill in the ${c.yellow("⚠️ AUTH CHECK")} in ${fn}/lakitu.ts.`,
    `npx convex dev  ${c.dim("(regenerates _generated/ with components.lakitu and internal.lakitu)")}`,
    `npx convex env set E2B_API_KEY e2b_...  ${c.dim("and a model key, e.g. OPENAI_API_KEY (see .env.example)")}`,
    `npx lakitu build && npx lakitu publish  ${c.dim("(builds the sandbox template on E2B and pins it)")}`,
  ];
  out.line();
  out.line(c.bold("Next steps"));
  steps.forEach((s, i) => out.line(`  ${i + 1}. ${s}`));
  out.line(c.dim(`  Sandboxes on this machine instead of E2B: npx lakitu sandbox serve (${fn}/${PROVIDER_MODULE}.ts reads what it prints).`));
}
