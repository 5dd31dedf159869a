/**
 * Artifact previews as a person reads them, and safe against what an agent may write: markdown is
 * rendered from tokens (no HTML is ever parsed), CSV becomes a table, JSON a tree, and a long file is
 * read only up to the limit.
 */
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, test, vi } from "vitest";
import { fetchText, type TextLoader } from "../loadText.js";
import { ArtifactPreview } from "./ArtifactPreview.js";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const URL_ = "https://files.test/a";
const loaderOf = (text: string): TextLoader => async () => ({ text, truncated: false });
const artifact = (name: string, type: string, contentType: string, size = 100) => ({ name, type, contentType, size });

describe("markdown", () => {
  test("headings, lists, paragraphs and code become elements", async () => {
    const md = "# Otters\n\nThey **hold** hands.\n\n## Facts\n\n- sleep afloat\n- use tools\n\n1. first\n2. second\n\n```js\nconsole.log(1)\n```\n\nA [source](https://example.org/otters).";
    render(<ArtifactPreview artifact={artifact("report.md", "markdown", "text/markdown")} url={URL_} load={loaderOf(md)} />);
    const preview = await screen.findByRole("region", { name: "Preview report.md" });
    await within(preview).findByRole("heading", { level: 1, name: "Otters" });
    expect(within(preview).getByRole("heading", { level: 2, name: "Facts" })).toBeTruthy();
    const [ul, ol] = within(preview).getAllByRole("list");
    expect(ul.tagName).toBe("UL");
    expect(within(ul).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["sleep afloat", "use tools"]);
    expect(ol.tagName).toBe("OL");
    expect(within(ol).getAllByRole("listitem")).toHaveLength(2);
    expect(preview.querySelector(".lk-md strong")?.textContent).toBe("hold");
    expect(preview.querySelector("pre code")?.textContent).toBe("console.log(1)");
    expect(within(preview).getByRole("link", { name: "source" }).getAttribute("href")).toBe("https://example.org/otters");
    expect(within(preview).getByRole("link", { name: "Download" }).getAttribute("href")).toBe(URL_);
  });

  test("HTML, script, event handlers and javascript: links in markdown are shown as text, never run or injected", async () => {
    (globalThis as { __pwned?: number }).__pwned = undefined;
    const md = [
      "# Title",
      "",
      "<script>globalThis.__pwned = 1</script>",
      "",
      'Inline <img src="x" onerror="globalThis.__pwned = 2"> here.',
      "",
      '<div onclick="globalThis.__pwned = 3"><iframe src="https://evil.test"></iframe></div>',
      "",
      "[click](javascript:globalThis.__pwned=4) and ![tracker](https://evil.test/pixel.png) and [data](data:text/html,<script>x</script>)",
    ].join("\n");
    const { container } = render(<ArtifactPreview artifact={artifact("x.md", "markdown", "text/markdown")} url={URL_} load={loaderOf(md)} />);
    await screen.findByRole("heading", { name: "Title" });
    const preview = screen.getByRole("region", { name: "Preview x.md" });
    const body = preview.querySelector(".lk-md")!;
    for (const tag of ["script", "img", "iframe", "div"]) expect(body.querySelectorAll(tag)).toHaveLength(0);
    const withHandlers = [...container.querySelectorAll("*")].filter((el) => [...el.attributes].some((a) => a.name.startsWith("on")));
    expect(withHandlers).toEqual([]);
    const hrefs = [...preview.querySelectorAll("a")].map((a) => a.getAttribute("href"));
    expect(hrefs.filter((h) => h !== URL_)).toEqual(["https://evil.test/pixel.png"]); // the image is a link, not loaded
    expect(preview.textContent).toContain("<script>globalThis.__pwned = 1</script>");
    expect(preview.textContent).toContain('<img src="x" onerror="globalThis.__pwned = 2">');
    expect(preview.textContent).toContain("click");
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
  });
});

test("CSV becomes a table: header cells, then rows, with quoted commas, quotes and line breaks", async () => {
  const csv = 'name,count,note\r\notter,3,"likes ""clams"", mostly"\nbeaver,1,"two\nlines"\n';
  render(<ArtifactPreview artifact={artifact("data.csv", "csv", "text/csv")} url={URL_} load={loaderOf(csv)} />);
  const table = await screen.findByRole("table");
  expect(within(table).getAllByRole("columnheader").map((c) => c.textContent)).toEqual(["name", "count", "note"]);
  const rows = within(table).getAllByRole("row").slice(1);
  expect(rows.map((r) => within(r).getAllByRole("cell").map((c) => c.textContent))).toEqual([
    ["otter", "3", 'likes "clams", mostly'],
    ["beaver", "1", "two\nlines"],
  ]);
});

test("JSON becomes a tree of details, keys and values; invalid JSON is shown as text and says so", async () => {
  const json = JSON.stringify({ species: "otter", counts: [3, 4], meta: { ok: true, note: null } });
  render(<ArtifactPreview artifact={artifact("data.json", "json", "application/json")} url={URL_} load={loaderOf(json)} />);
  const preview = await screen.findByRole("region", { name: "Preview data.json" });
  await vi.waitFor(() => expect(preview.querySelectorAll("details").length).toBe(3)); // root, counts, meta
  const summaries = [...preview.querySelectorAll("summary")].map((s) => s.textContent);
  expect(summaries).toEqual(["root: Object {3}", "counts: Array(2)", "meta: Object {2}"]);
  const leaves = [...preview.querySelectorAll(".lk-json-leaf")].map((l) => l.textContent);
  expect(leaves).toEqual(['species: "otter"', "0: 3", "1: 4", "ok: true", "note: null"]);
  cleanup();

  render(<ArtifactPreview artifact={artifact("bad.json", "json", "application/json")} url={URL_} load={loaderOf("{nope")} />);
  expect(await screen.findByText(/Not valid JSON/)).toBeTruthy();
  expect(screen.getByText("{nope").tagName).toBe("PRE");
});

test("PDF inline in an iframe titled with its name, images as img with alt, a gone file says so", () => {
  // data: URLs, so the DOM loading the frame and the image reaches no network.
  const pdf = "data:application/pdf;base64,JVBERi0xLjQK";
  const png = "data:image/png;base64,iVBORw0KGgo=";
  render(
    <>
      <ArtifactPreview artifact={artifact("paper.pdf", "pdf", "application/pdf")} url={pdf} />
      <ArtifactPreview artifact={artifact("chart.png", "png", "image/png")} url={png} />
      <ArtifactPreview artifact={artifact("old.md", "markdown", "text/markdown")} url={null} />
    </>,
  );
  expect(screen.getByTitle("paper.pdf").tagName).toBe("IFRAME");
  expect(screen.getByTitle("paper.pdf").getAttribute("src")).toBe(pdf);
  expect(screen.getByAltText("chart.png").getAttribute("src")).toBe(png);
  const gone = screen.getByRole("region", { name: "Preview old.md" });
  expect(gone.textContent).toContain("The file is gone");
  expect(within(gone).queryByRole("link", { name: "Download" })).toBeNull();
});

test("a long file is read only up to the limit, and the preview says it is cut", async () => {
  const chunk = new TextEncoder().encode("a".repeat(1000));
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(chunk);
    },
  });
  vi.stubGlobal("fetch", async () => new Response(body));
  render(<ArtifactPreview artifact={artifact("log.txt", "text", "text/plain", 1_000_000)} url={URL_} maxBytes={2500} load={fetchText} />);
  const pre = await screen.findByText((_, el) => el?.tagName === "PRE");
  expect(pre.textContent).toBe("a".repeat(2500));
  expect(screen.getByText(/Showing the first 2.4 KiB of 976.6 KiB/)).toBeTruthy();
  expect(pulled).toBeLessThan(10); // it stopped reading, not downloaded the rest
});
