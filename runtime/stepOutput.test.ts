import { describe, expect, it } from "vitest";
import { StepOutput } from "./stepOutput.js";

const MARK = "\u0001lakitu-step-end:abc\u0001";
const b = (s: string) => Buffer.from(s, "utf8");

describe("StepOutput", () => {
  it("keeps what came before the mark on each pipe, drops the mark and what follows, and resolves when both pipes had it", async () => {
    const out = new StepOutput(1024, MARK);
    let marked = false;
    void out.marked.then(() => (marked = true));
    out.write(0, b("one\n"));
    out.write(1, b(`err\n${MARK}`));
    out.write(1, b("after the mark\n"));
    await Promise.resolve();
    expect(marked).toBe(false);
    // The mark split over three chunks, with output before it in the first.
    out.write(0, b(`two\n${MARK.slice(0, 5)}`));
    out.write(0, b(MARK.slice(5, 12)));
    out.write(0, b(`${MARK.slice(12)}late\n`));
    await out.marked;
    expect(out.read()).toEqual({ text: "one\nerr\ntwo\n", totalBytes: 12, truncatedBytes: 0 });
  });

  it("without the mark (the process was killed), a tail that looked like its start is output after all", () => {
    const out = new StepOutput(1024, MARK);
    out.write(0, b(`partial ${MARK.slice(0, 6)}`));
    expect(out.read().text).toBe(`partial ${MARK.slice(0, 6)}`);
  });

  it("caps the step's output like the collector does", () => {
    const out = new StepOutput(8, MARK);
    out.write(0, b(`0123456789${MARK}`));
    expect(out.read()).toEqual({ text: "01234567…[truncated 2 bytes]", totalBytes: 10, truncatedBytes: 2 });
  });
});
