import { useId, useState, type FormEvent, type ReactNode } from "react";

export type SteerBoxProps = {
  /** Sends the message to the running agent (it reads it before its next step). */
  onSend: (text: string) => unknown | Promise<unknown>;
  busy?: boolean;
};

/** A `Message to the agent` box with `Send`; the box clears once the message is sent. */
export function SteerBox({ onSend, busy }: SteerBoxProps): ReactNode {
  const id = useId();
  const [text, setText] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    void Promise.resolve(onSend(text.trim())).then((ok) => ok !== false && setText(""));
  };
  return (
    <form className="lk-form lk-steer" onSubmit={submit}>
      <label htmlFor={`${id}-msg`}>Message to the agent</label>
      <textarea id={`${id}-msg`} rows={2} value={text} onChange={(e) => setText(e.target.value)} />
      <div className="lk-actions">
        <button type="submit" disabled={busy || !text.trim()}>
          Send
        </button>
      </div>
    </form>
  );
}
