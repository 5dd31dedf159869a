/** `plan`: the run's task list, kept by the component so it survives the sandbox and shows on the board. */
import { z } from "zod";
import { defineKSA } from "../define.js";

export const TASK_KINDS = ["goal", "deliverable", "task"] as const;
export const TASK_STATUSES = ["todo", "doing", "done"] as const;
export const MAX_TASK_TITLE = 200;
export const MAX_TASK_NOTE = 2000;

/** One entry of the plan, as the component returns it. */
export const Task = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.enum(TASK_KINDS),
  status: z.enum(TASK_STATUSES),
  note: z.string().optional(),
});
export type Task = z.infer<typeof Task>;

export const plan = defineKSA({
  name: "plan",
  description:
    "Your plan for this run: a short list of goals, deliverables and tasks with a status each. Add the steps first, mark each one doing/done as you go; the board shows it.",
  category: "planning",
  defaultAllowed: true,
  functions: {
    get: {
      description: "Returns every task of the plan, in the order they were added.",
      params: z.strictObject({}),
      result: z.object({ tasks: z.array(Task) }),
      gateway: true,
    },
    add: {
      description: 'Adds a task (status "todo"; kind defaults to "task") and returns it with its id.',
      params: z.strictObject({ title: z.string().min(1).max(MAX_TASK_TITLE), kind: z.enum(TASK_KINDS).default("task") }),
      result: Task,
      gateway: true,
    },
    update: {
      description: 'Sets a task\'s status ("todo", "doing" or "done") and optionally a note; returns the task.',
      params: z.strictObject({ id: z.string().min(1), status: z.enum(TASK_STATUSES), note: z.string().max(MAX_TASK_NOTE).optional() }),
      result: Task,
      gateway: true,
    },
  },
});
