/** Finding the code in a model reply. */

const RUNNABLE = new Set(["", "ts", "typescript", "js", "javascript"]);

export type CodeBlock = { lang: string; code: string; /** The reply without the block: what the model said around it. */ prose: string };

/**
 * The first fenced block tagged ts, typescript, js, javascript or untagged (blocks in other languages
 * are skipped). A fence left open at the end of the reply runs to the end. Null when there is none.
 */
export function extractCode(reply: string): CodeBlock | null {
  const lines = reply.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const lang = open[2].toLowerCase();
    const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    if (!RUNNABLE.has(lang)) {
      i = end;
      continue;
    }
    const code = lines.slice(i + 1, end).join("\n");
    const prose = [...lines.slice(0, i), ...lines.slice(end + 1)].join("\n").trim();
    return { lang: lang || "ts", code, prose };
  }
  return null;
}
