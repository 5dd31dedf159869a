import { useId, useState, type FormEvent, type ReactNode } from "react";
import { FormActions } from "./FormActions.js";

export type CardFormValues = { title: string; description: string };

export type CardFormProps = {
  /** The card's current title and description when editing. */
  initial?: Partial<CardFormValues>;
  /** `Add card` to create, `Save` to edit. */
  submitLabel?: string;
  onSubmit: (values: CardFormValues) => unknown | Promise<unknown>;
  onCancel?: () => void;
  /** Disables the form while the caller's mutation runs. */
  busy?: boolean;
};

/** Create or edit a card: `Title` (required) and `Description`. Submitting trims both. */
export function CardForm({ initial, submitLabel = "Add card", onSubmit, onCancel, busy }: CardFormProps): ReactNode {
  const id = useId();
  const [title, setTitle] = useState(initial?.title ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [problem, setProblem] = useState<string>();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setProblem("Title is required: give the card a title.");
      return;
    }
    setProblem(undefined);
    void onSubmit({ title: title.trim(), description: description.trim() });
  };

  return (
    <form className="lk-form" onSubmit={submit}>
      <label htmlFor={`${id}-title`}>Title</label>
      <input id={`${id}-title`} value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} />
      <label htmlFor={`${id}-description`}>Description</label>
      <textarea id={`${id}-description`} value={description} onChange={(e) => setDescription(e.target.value)} rows={3} />
      <FormActions problem={problem} submitLabel={submitLabel} busy={busy} onCancel={onCancel} />
    </form>
  );
}
