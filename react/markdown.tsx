/**
 * Markdown as React elements, for agent output (untrusted): `marked`'s lexer tokens are mapped to
 * elements one by one, never to an HTML string. Raw HTML in the markdown is shown as text, links work
 * only for http(s) and mailto, and images are not loaded (their alt text links to them), so a document
 * cannot run script, inject attributes or make the browser fetch anything by being shown.
 */
import { Lexer, type Token, type Tokens } from "marked";
import { createElement, Fragment, type ReactNode } from "react";

/** Nesting deeper than this is shown as plain text (a hostile document cannot blow the stack). */
const MAX_DEPTH = 24;

export function Markdown({ text }: { text: string }): ReactNode {
  const tokens = new Lexer({ gfm: true }).lex(text);
  return <div className="lk-md">{blocks(tokens, 0)}</div>;
}

function blocks(tokens: readonly Token[], depth: number): ReactNode[] {
  return tokens.map((t, i) => <Fragment key={i}>{block(t, depth)}</Fragment>);
}

function block(t: Token, depth: number): ReactNode {
  if (depth > MAX_DEPTH) return "raw" in t ? String(t.raw) : null;
  switch (t.type) {
    case "heading": {
      const h = t as Tokens.Heading;
      return createElement(`h${Math.min(6, Math.max(1, h.depth))}`, null, inline(h.tokens, depth + 1));
    }
    case "paragraph":
      return <p>{inline((t as Tokens.Paragraph).tokens, depth + 1)}</p>;
    case "text": {
      const x = t as Tokens.Text;
      return x.tokens ? inline(x.tokens, depth + 1) : decode(x.text);
    }
    case "list": {
      const l = t as Tokens.List;
      const items = l.items.map((item, i) => (
        <li key={i}>
          {item.task ? <input type="checkbox" checked={item.checked ?? false} disabled aria-label={item.checked ? "done" : "not done"} /> : null}
          {blocks(item.tokens.filter((x) => x.type !== "checkbox"), depth + 1)}
        </li>
      ));
      return l.ordered ? <ol start={typeof l.start === "number" ? l.start : undefined}>{items}</ol> : <ul>{items}</ul>;
    }
    case "code": {
      const c = t as Tokens.Code;
      return (
        <pre>
          <code data-lang={c.lang || undefined}>{c.text}</code>
        </pre>
      );
    }
    case "blockquote":
      return <blockquote>{blocks((t as Tokens.Blockquote).tokens, depth + 1)}</blockquote>;
    case "hr":
      return <hr />;
    case "table": {
      const tb = t as Tokens.Table;
      return (
        <table className="lk-table">
          <thead>
            <tr>
              {tb.header.map((c, i) => (
                <th key={i} scope="col" style={c.align ? { textAlign: c.align } : undefined}>
                  {inline(c.tokens, depth + 1)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {tb.rows.map((row, r) => (
              <tr key={r}>
                {row.map((c, i) => (
                  <td key={i} style={c.align ? { textAlign: c.align } : undefined}>
                    {inline(c.tokens, depth + 1)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
    case "html":
      // Raw HTML is shown as the text it is, never parsed.
      return <pre className="lk-md-html">{(t as Tokens.HTML).text}</pre>;
    case "space":
    case "def":
      return null;
    default:
      return "tokens" in t && Array.isArray(t.tokens) ? inline(t.tokens, depth + 1) : "raw" in t ? String(t.raw) : null;
  }
}

function inline(tokens: readonly Token[] | undefined, depth: number): ReactNode[] {
  return (tokens ?? []).map((t, i) => <Fragment key={i}>{span(t, depth)}</Fragment>);
}

function span(t: Token, depth: number): ReactNode {
  if (depth > MAX_DEPTH) return "raw" in t ? String(t.raw) : null;
  switch (t.type) {
    case "text": {
      const x = t as Tokens.Text;
      return x.tokens ? inline(x.tokens, depth + 1) : decode(x.text);
    }
    case "escape":
      return (t as Tokens.Escape).text;
    case "strong":
      return <strong>{inline((t as Tokens.Strong).tokens, depth + 1)}</strong>;
    case "em":
      return <em>{inline((t as Tokens.Em).tokens, depth + 1)}</em>;
    case "del":
      return <del>{inline((t as Tokens.Del).tokens, depth + 1)}</del>;
    case "codespan":
      return <code>{decode((t as Tokens.Codespan).text)}</code>;
    case "br":
      return <br />;
    case "link": {
      const l = t as Tokens.Link;
      const content = inline(l.tokens, depth + 1);
      const href = safeHref(l.href);
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow">
          {content}
        </a>
      ) : (
        <>{content}</>
      );
    }
    case "image": {
      // Not loaded: an image URL in agent output could track whoever opens it.
      const img = t as Tokens.Image;
      const href = safeHref(img.href);
      const label = `[image: ${img.text || img.href}]`;
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow">
          {label}
        </a>
      ) : (
        label
      );
    }
    case "html":
      return (t as Tokens.Tag).text;
    case "checkbox":
      return null;
    default:
      return "tokens" in t && Array.isArray(t.tokens) ? inline(t.tokens, depth + 1) : "raw" in t ? String(t.raw) : null;
  }
}

/** The link's URL when it is http(s) or mailto; anything else (javascript:, data:, relative) is dropped. */
export function safeHref(href: string): string | undefined {
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** Character references in markdown text (`&amp;`, `&#39;`, `&#x27;`) as the characters they stand for. */
function decode(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (m, ref: string) => {
    if (ref[0] !== "#") return NAMED[ref.toLowerCase()] ?? m;
    const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}
