import { useId, useState, type FormEvent, type ReactNode } from "react";
import { DELIVERABLE_TYPES, type DeliverableType, type StageInput } from "../../convex/shared/validators.js";
import { FormActions } from "./FormActions.js";

type DeliverableDraft = { name: string; type: DeliverableType };
type StageDraft = { name: string; kind: "agent" | "human" | "done"; goals: string; deliverables: DeliverableDraft[] };

export type BoardFormValues = { name: string; stages: StageInput[] };

export type BoardFormProps = {
  onSubmit: (values: BoardFormValues) => unknown | Promise<unknown>;
  onCancel?: () => void;
  busy?: boolean;
};

const emptyStage = (): StageDraft => ({ name: "", kind: "agent", goals: "", deliverables: [] });

/**
 * A new board: `Board name`, then stages (each `Stage name`, kind, goals one per line, deliverables by
 * name and type), `Add stage`, and `Create board`. Empty names are refused by field before submitting.
 */
export function BoardForm({ onSubmit, onCancel, busy }: BoardFormProps): ReactNode {
  const id = useId();
  const [name, setName] = useState("");
  const [stages, setStages] = useState<StageDraft[]>([emptyStage()]);
  const [problem, setProblem] = useState<string>();
  const patch = (i: number, p: Partial<StageDraft>) => setStages((s) => s.map((st, j) => (j === i ? { ...st, ...p } : st)));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = problemOf(name, stages);
    setProblem(found);
    if (!found) void onSubmit({ name: name.trim(), stages: stages.map(stageInput) });
  };

  return (
    <form className="lk-form lk-board-form" onSubmit={submit}>
      <label htmlFor={`${id}-name`}>Board name</label>
      <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} />
      {stages.map((stage, i) => (
        <fieldset key={i} className="lk-stage-fields">
          <legend>Stage {i + 1}</legend>
          <label htmlFor={`${id}-s${i}-name`}>Stage name</label>
          <input id={`${id}-s${i}-name`} value={stage.name} onChange={(e) => patch(i, { name: e.target.value })} />
          <label htmlFor={`${id}-s${i}-kind`}>Kind</label>
          <select id={`${id}-s${i}-kind`} value={stage.kind} onChange={(e) => patch(i, { kind: e.target.value as StageDraft["kind"] })}>
            <option value="agent">agent</option>
            <option value="human">human</option>
            <option value="done">done</option>
          </select>
          {stage.kind === "agent" ? (
            <>
              <label htmlFor={`${id}-s${i}-goals`}>Goals (one per line)</label>
              <textarea id={`${id}-s${i}-goals`} rows={2} value={stage.goals} onChange={(e) => patch(i, { goals: e.target.value })} />
              {stage.deliverables.map((d, k) => (
                <div key={k} className="lk-row">
                  <label htmlFor={`${id}-s${i}-d${k}-name`}>Deliverable name</label>
                  <input
                    id={`${id}-s${i}-d${k}-name`}
                    value={d.name}
                    placeholder="report.md"
                    onChange={(e) => patch(i, { deliverables: stage.deliverables.map((x, j) => (j === k ? { ...x, name: e.target.value } : x)) })}
                  />
                  <label htmlFor={`${id}-s${i}-d${k}-type`}>Deliverable type</label>
                  <select
                    id={`${id}-s${i}-d${k}-type`}
                    value={d.type}
                    onChange={(e) => patch(i, { deliverables: stage.deliverables.map((x, j) => (j === k ? { ...x, type: e.target.value as DeliverableType } : x)) })}
                  >
                    {DELIVERABLE_TYPES.map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                </div>
              ))}
              <button type="button" className="lk-secondary" onClick={() => patch(i, { deliverables: [...stage.deliverables, { name: "", type: "markdown" }] })}>
                Add deliverable
              </button>
            </>
          ) : null}
          {stages.length > 1 ? (
            <button type="button" className="lk-secondary" onClick={() => setStages((s) => s.filter((_, j) => j !== i))}>
              Remove stage {i + 1}
            </button>
          ) : null}
        </fieldset>
      ))}
      <button type="button" className="lk-secondary" onClick={() => setStages((s) => [...s, emptyStage()])}>
        Add stage
      </button>
      <FormActions problem={problem} submitLabel="Create board" busy={busy} onCancel={onCancel} />
    </form>
  );
}

function problemOf(name: string, stages: StageDraft[]): string | undefined {
  if (!name.trim()) return "Board name is required.";
  for (const [i, s] of stages.entries()) {
    if (!s.name.trim()) return `Stage ${i + 1}: Stage name is required.`;
    for (const [k, d] of s.deliverables.entries()) {
      if (!d.name.trim()) return `Stage ${i + 1}, deliverable ${k + 1}: Deliverable name is required (e.g. report.md).`;
    }
  }
  return undefined;
}

function stageInput(s: StageDraft): StageInput {
  const goals = s.goals
    .split("\n")
    .map((g) => g.trim())
    .filter(Boolean);
  return {
    name: s.name.trim(),
    kind: s.kind,
    ...(s.kind === "agent" && goals.length ? { goals } : {}),
    ...(s.kind === "agent" && s.deliverables.length ? { deliverables: s.deliverables.map((d) => ({ name: d.name.trim(), type: d.type })) } : {}),
  };
}
