import { Component, type ErrorInfo as ReactErrorInfo, type ReactNode } from "react";

/** A component error as the UI shows it: Lakitu's `ConvexError` data, or any other error's message. */
export type ErrorInfo = { code: string; message: string; path?: string };

/**
 * Reads `{ code, message, path }` from a `ConvexError`'s `data` (the component's errors, and the ones
 * `lakitu dev`'s local client throws); any other error becomes `{ code: "error", message }`.
 */
export function errorInfo(error: unknown): ErrorInfo {
  let data: unknown = (error as { data?: unknown } | null | undefined)?.data;
  if (typeof data === "string") {
    const text = data;
    try {
      data = JSON.parse(text);
    } catch {
      return { code: "error", message: text };
    }
  }
  if (data && typeof data === "object" && typeof (data as { code?: unknown }).code === "string") {
    const d = data as { code: string; message?: unknown; path?: unknown };
    return { code: d.code, message: typeof d.message === "string" ? d.message : "", ...(typeof d.path === "string" ? { path: d.path } : {}) };
  }
  if (error instanceof Error) return { code: "error", message: error.message };
  return { code: "error", message: String(error) };
}

export type ErrorNoteProps = {
  error: unknown;
  /** Shows a Dismiss button that calls this. */
  onDismiss?: () => void;
};

/** An error shown as it is: `<code>` with its code, then its message (and the field it names). */
export function ErrorNote({ error, onDismiss }: ErrorNoteProps): ReactNode {
  const info = errorInfo(error);
  return (
    <div role="alert" className="lk-error">
      <code>{info.code}</code>
      {`: ${info.message}`}
      {info.path ? (
        <>
          {" "}
          (at <code>{info.path}</code>)
        </>
      ) : null}
      {onDismiss ? (
        <button type="button" className="lk-link" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}

type BoundaryProps = { children: ReactNode; /** A change of this clears a caught error. */ resetKey?: string };

/** Catches what a panel's queries throw (e.g. `not_found`) and shows it as an `ErrorNote`. */
export class ErrorBoundary extends Component<BoundaryProps, { error: unknown; key?: string }> {
  state: { error: unknown; key?: string } = { error: undefined, key: undefined };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  static getDerivedStateFromProps(props: BoundaryProps, state: { error: unknown; key?: string }) {
    return props.resetKey !== state.key ? { error: undefined, key: props.resetKey } : null;
  }

  componentDidCatch(_error: unknown, _info: ReactErrorInfo): void {}

  render(): ReactNode {
    return this.state.error !== undefined ? <ErrorNote error={this.state.error} /> : this.props.children;
  }
}
