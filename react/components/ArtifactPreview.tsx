import { useEffect, useState, type ReactNode } from "react";
import type { PublicArtifact } from "../../convex/client/index.js";
import { fetchText, PREVIEW_MAX_BYTES, type LoadedText, type TextLoader } from "../loadText.js";
import { Markdown } from "../markdown.js";
import { CsvTable } from "./CsvTable.js";
import { ErrorNote } from "./ErrorNote.js";
import { JsonTree } from "./JsonTree.js";

export type ArtifactPreviewProps = {
  artifact: Pick<PublicArtifact, "name" | "type" | "contentType" | "size">;
  /** The download URL (`useArtifacts` gives it): `undefined` while it loads, `null` when the bytes are gone. */
  url: string | null | undefined;
  /** Bytes read for a text preview (default 1 MiB); the preview says when the artifact is longer. */
  maxBytes?: number;
  /** How text is read (default: `fetch`, stopping at `maxBytes`). */
  load?: TextLoader;
};

type View = "markdown" | "csv" | "json" | "pdf" | "image" | "text" | "none";

/**
 * An artifact as a person reads it, in `<section aria-label="Preview <name>">`: markdown rendered (as
 * elements, never HTML), PDF inline, CSV as a table, JSON as a tree, images shown, other text in
 * `<pre>` (HTML too: it is shown as source, not run), and a Download link.
 */
export function ArtifactPreview({ artifact, url, maxBytes = PREVIEW_MAX_BYTES, load = fetchText }: ArtifactPreviewProps): ReactNode {
  const view = viewOf(artifact);
  const textual = view === "markdown" || view === "csv" || view === "json" || view === "text";
  const [state, setState] = useState<{ url: string; loaded?: LoadedText; error?: unknown }>();

  useEffect(() => {
    if (!textual || !url) return;
    const abort = new AbortController();
    setState({ url });
    load(url, maxBytes, abort.signal).then(
      (loaded) => !abort.signal.aborted && setState({ url, loaded }),
      (error: unknown) => !abort.signal.aborted && setState({ url, error }),
    );
    return () => abort.abort();
  }, [url, textual, maxBytes, load]);

  const current = state?.url === url ? state : undefined;
  return (
    <section className="lk-preview" aria-label={`Preview ${artifact.name}`}>
      <header className="lk-preview-head">
        <strong>{artifact.name}</strong> <span className="lk-muted">{`${artifact.type} · ${formatBytes(artifact.size)}`}</span>{" "}
        {url ? (
          <a href={url} download={artifact.name} className="lk-download">
            Download
          </a>
        ) : null}
      </header>
      {url === null ? <p className="lk-empty">The file is gone (deleted by retention or with its card).</p> : null}
      {url === undefined ? <p className="lk-muted">Loading…</p> : null}
      {url && view === "pdf" ? <iframe className="lk-pdf" title={artifact.name} src={url} /> : null}
      {url && view === "image" ? <img className="lk-image" alt={artifact.name} src={url} /> : null}
      {url && view === "none" ? <p className="lk-muted">No preview for {artifact.contentType}: use Download.</p> : null}
      {url && textual ? <TextBody view={view} name={artifact.name} size={artifact.size} maxBytes={maxBytes} state={current} /> : null}
    </section>
  );
}

function TextBody(props: { view: View; name: string; size: number; maxBytes: number; state?: { loaded?: LoadedText; error?: unknown } }): ReactNode {
  const { view, state } = props;
  if (state?.error !== undefined) return <ErrorNote error={state.error} />;
  if (!state?.loaded) return <p className="lk-muted">Loading…</p>;
  const { text, truncated } = state.loaded;
  const cut = truncated ? <p className="lk-note">{`Showing the first ${formatBytes(props.maxBytes)} of ${formatBytes(props.size)}: download it for the rest.`}</p> : null;
  let body: ReactNode;
  if (view === "markdown") body = <Markdown text={text} />;
  else if (view === "csv") body = <CsvTable text={text} />;
  else if (view === "json") body = jsonBody(text, truncated);
  else body = <pre className="lk-text">{text}</pre>;
  return (
    <>
      {cut}
      {body}
    </>
  );
}

function jsonBody(text: string, truncated: boolean): ReactNode {
  try {
    return <JsonTree value={JSON.parse(text)} />;
  } catch (e) {
    return (
      <>
        <p className="lk-note">{truncated ? "The preview is cut, so it is not whole JSON: shown as text." : `Not valid JSON (${(e as Error).message}): shown as text.`}</p>
        <pre className="lk-text">{text}</pre>
      </>
    );
  }
}

function viewOf(a: Pick<PublicArtifact, "type" | "contentType" | "name">): View {
  switch (a.type) {
    case "markdown":
      return "markdown";
    case "csv":
      return "csv";
    case "json":
      return "json";
    case "pdf":
      return "pdf";
    case "png":
    case "jpeg":
      return "image";
    case "text":
    case "html":
      return "text";
  }
  const ct = a.contentType.toLowerCase();
  if (ct.startsWith("image/") && !ct.includes("svg")) return "image";
  if (ct === "application/pdf") return "pdf";
  if (ct.includes("markdown") || /\.md$/i.test(a.name)) return "markdown";
  if (ct.includes("csv")) return "csv";
  if (ct.includes("json")) return "json";
  if (ct.startsWith("text/")) return "text";
  return "none";
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, "")} KiB`;
  return `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, "")} MiB`;
}
