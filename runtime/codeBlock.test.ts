import { describe, expect, it } from "vitest";
import { extractCode } from "./codeBlock.js";

describe("extractCode", () => {
  it.each([
    ["ts", "```ts\nconst a = 1;\n```"],
    ["typescript", "```typescript\nconst a = 1;\n```"],
    ["js", "```js\nconst a = 1;\n```"],
    ["javascript", "```JavaScript\nconst a = 1;\n```"],
    ["bare", "```\nconst a = 1;\n```"],
  ])("takes a %s block", (_, reply) => {
    expect(extractCode(`Here:\n${reply}\nThat's it.`)).toMatchObject({ code: "const a = 1;", prose: "Here:\nThat's it." });
  });

  it("returns null without a fenced block", () => {
    expect(extractCode("I am done. The report is in `out/report.md`.")).toBeNull();
  });

  it("skips blocks in other languages and takes the first runnable one", () => {
    const reply = "```json\n{\"a\": 1}\n```\n\n```bash\nls\n```\n\n```ts\nfirst()\n```\n\n```ts\nsecond()\n```";
    expect(extractCode(reply)?.code).toBe("first()");
  });

  it("keeps inner backticks and longer fences", () => {
    const reply = "````ts\nconst s = `x`;\nconst md = \"```\";\n````";
    expect(extractCode(reply)?.code).toBe("const s = `x`;\nconst md = \"```\";");
  });

  it("takes an unclosed block to the end of the reply", () => {
    expect(extractCode("```ts\nconst a = 1;\nconst b =")?.code).toBe("const a = 1;\nconst b =");
  });

  it("handles CRLF replies", () => {
    expect(extractCode("```ts\r\nconsole.log(1)\r\n```\r\n")?.code).toBe("console.log(1)");
  });
});
