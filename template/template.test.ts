import { Template } from "e2b";
import { expect, test } from "vitest";
import { DEFAULT_RUNTIME_COMMAND } from "../convex/providers/e2b.js";
import { lakituTemplate, RUNTIME_DIR, WORKSPACE_DIR } from "./template.js";

test("the Dockerfile: Node image, the tools, the runtime at /opt/lakitu/runtime, the workspace", () => {
  const dockerfile = Template.toDockerfile(lakituTemplate({ contextDir: "." }));
  expect(dockerfile.split("\n")).toEqual([
    "FROM node:22-bookworm-slim",
    "RUN apt-get update && DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y --no-install-recommends bash ca-certificates curl git jq procps python3 ripgrep unzip zip",
    "RUN rm -rf /var/lib/apt/lists/*",
    "COPY runtime /opt/lakitu/runtime",
    "RUN useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lakitu-agent",
    "RUN mkdir -p /home/user/workspace && chmod 1777 /home/user/workspace",
    "WORKDIR /home/user/workspace",
    "ENV LAKITU_RUNTIME=/opt/lakitu/runtime/main.js LAKITU_AGENT_USER=lakitu-agent",
    "",
  ]);
});

test("the image matches what the E2B provider starts and where", () => {
  expect(DEFAULT_RUNTIME_COMMAND).toBe(`node ${RUNTIME_DIR}/main.js`);
  expect(WORKSPACE_DIR).toBe("/home/user/workspace");
});

test("options: another node tag, more packages, the runtime folder", () => {
  const dockerfile = Template.toDockerfile(lakituTemplate({ contextDir: ".", nodeVariant: "24-bookworm", aptPackages: ["graphviz"], runtimeDir: "rt" }));
  expect(dockerfile).toContain("FROM node:24-bookworm\n");
  expect(dockerfile).toContain("ripgrep unzip zip graphviz\n");
  expect(dockerfile).toContain("COPY rt /opt/lakitu/runtime\n");
});
