import { describe, expect, test } from "vitest";
import { NEW_CONVEX_CONFIG, patchConvexConfig } from "./configPatch.js";
import { envExample } from "./scaffold.js";
import { ManualStepError, ParseError } from "./tsEdit.js";

describe("convex.config.ts", () => {
  test("a new config: defineApp declares the keys, app.use passes them", () => {
    const { code } = patchConvexConfig(NEW_CONVEX_CONFIG);
    expect(code).toBe(`import { defineApp } from "convex/server";
import lakitu from "lakitu/convex.config.js";
import { v } from "convex/values";

const app = defineApp({
  env: {
    OPENAI_API_KEY: v.optional(v.string()),
    OPENROUTER_API_KEY: v.optional(v.string()),
    ANTHROPIC_API_KEY: v.optional(v.string()),
  },
});
app.use(lakitu, {
  httpPrefix: "/lakitu/",
  env: {
    OPENAI_API_KEY: app.env.OPENAI_API_KEY,
    OPENROUTER_API_KEY: app.env.OPENROUTER_API_KEY,
    ANTHROPIC_API_KEY: app.env.ANTHROPIC_API_KEY,
  },
});

export default app;
`);
    expect(patchConvexConfig(code).code).toBe(code);
  });

  test("keeps a required key the app declares, adds the others, reuses its imports", () => {
    const src = `import { defineApp } from "convex/server";
import { v as val } from "convex/values";
import lk from "lakitu/convex.config";

export const app = defineApp({ env: { OPENAI_API_KEY: val.string() } });
export default app;
`;
    const { code } = patchConvexConfig(src);
    expect(code).toContain("env: { OPENAI_API_KEY: val.string(), OPENROUTER_API_KEY: val.optional(val.string()), ANTHROPIC_API_KEY: val.optional(val.string()) }");
    expect(code).toContain("app.use(lk, {");
    expect(code.match(/import/g)).toHaveLength(3);
  });

  test("an app that already uses the component is left alone", () => {
    const src = `import { defineApp } from "convex/server";\nimport lakitu from "lakitu/convex.config.js";\nconst app = defineApp();\napp.use(lakitu);\nexport default app;\n`;
    expect(patchConvexConfig(src)).toEqual({ code: src, notes: ["the component is already installed"] });
  });

  test("tabs, CRLF and a name clash", () => {
    const src = `import { defineApp } from "convex/server";\r\nconst lakitu = 1;\r\nconst app = defineApp({\r\n\thttpPrefix: "/x/",\r\n});\r\nexport default app;\r\n`;
    const { code } = patchConvexConfig(src);
    expect(code).toContain('import lakituComponent from "lakitu/convex.config.js";\r\n');
    expect(code).toContain('\thttpPrefix: "/x/",\r\n\tenv: {\r\n\t\tOPENAI_API_KEY: v.optional(v.string()),\r\n');
    expect(code).toContain("app.use(lakituComponent, {\r\n\thttpPrefix: \"/lakitu/\",");
    expect(code.replace(/\r\n/g, "")).not.toContain("\n");
  });

  test("what it cannot extend asks for a manual step; a syntax error is a parse error", () => {
    expect(() => patchConvexConfig(`import { defineApp } from "convex/server";\nexport default defineApp();\n`)).toThrow(ManualStepError);
    expect(() => patchConvexConfig(`import { defineApp } from "convex/server";\nconst env = {};\nconst app = defineApp({ env });\nexport default app;\n`)).toThrow(
      /env \}\) is not an object literal/,
    );
    expect(() => patchConvexConfig(`const app = defineApp(;\n`)).toThrow(ParseError);
  });
});

test(".env.example gets only the variables it does not list", () => {
  expect(envExample("A=1\nOPENAI_API_KEY=x\n# E2B_API_KEY=\n")).toBe(
    "A=1\nOPENAI_API_KEY=x\n# E2B_API_KEY=\n\n# Lakitu: set these in your Convex deployment (npx convex env set NAME value)\n# template to use when none is pinned by npx lakitu publish\nLAKITU_E2B_TEMPLATE=\nOPENROUTER_API_KEY=\nANTHROPIC_API_KEY=\n",
  );
  const full = envExample(undefined);
  expect(envExample(full)).toBe(full);
});
