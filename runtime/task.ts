/** The task the component hands the runtime (`/task`), checked before anything runs. */
import { z } from "zod";

const zTask = z.object({
  runId: z.string().min(1),
  attempt: z.number().int().nonnegative(),
  stage: z.object({
    name: z.string().min(1),
    goals: z.array(z.string()).default([]),
    deliverables: z.array(z.object({ name: z.string().min(1), type: z.string(), required: z.boolean().optional() })).default([]),
    allowedKsas: z.array(z.string()).default([]),
  }),
  card: z.object({ title: z.string(), description: z.string().optional(), context: z.unknown().optional() }),
  retryContext: z.unknown().optional(),
  limits: z.object({ maxSteps: z.number().int().positive(), deadline: z.number().positive() }),
  outputDir: z.string().min(1).default("out"),
  /** A resumed run's files, fetched from /restore into the output folder before the agent starts. */
  restore: z.array(z.object({ artifactId: z.string().min(1), name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() })).default([]),
});

export type Task = z.infer<typeof zTask>;

/** The task, or a message naming what is wrong with it. */
export function parseTask(value: unknown): { ok: true; task: Task } | { ok: false; message: string } {
  const r = zTask.safeParse(value);
  if (r.success) return { ok: true, task: r.data };
  const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(task)"}: ${i.message}`);
  return { ok: false, message: `the component sent an invalid task: ${issues.join("; ")}` };
}
