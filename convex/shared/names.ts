/** Artifact names: relative paths inside the output folder, checked before anything is stored. */
import type { DeliverableType } from "./validators.js";

export const MAX_ARTIFACT_NAME = 200;

/** Returns why `name` is not acceptable as an artifact name, or null when it is. */
export function artifactNameProblem(name: string): string | null {
  if (name.length === 0) return "artifact name is empty";
  if (name.length > MAX_ARTIFACT_NAME) return `artifact name is ${name.length} characters; the limit is ${MAX_ARTIFACT_NAME}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "artifact name contains control characters";
  if (name.includes("\\")) return "artifact name contains a backslash; use / between folders";
  if (name.startsWith("/") || /^[a-zA-Z]:/.test(name) || name.startsWith("~")) {
    return `artifact name "${name}" is absolute; give a path relative to the output folder`;
  }
  for (const seg of name.split("/")) {
    if (seg === "" || seg === "." || seg === "..") {
      return `artifact name "${name}" has an empty, "." or ".." segment; names must stay inside the output folder`;
    }
  }
  return null;
}

const BY_EXTENSION: Record<string, DeliverableType> = {
  md: "markdown",
  markdown: "markdown",
  json: "json",
  csv: "csv",
  pdf: "pdf",
  png: "png",
  jpg: "jpeg",
  jpeg: "jpeg",
  txt: "text",
  html: "html",
  htm: "html",
};

/** The deliverable type an artifact name suggests; `file` when the extension says nothing. */
export function typeFromName(name: string): DeliverableType {
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  return BY_EXTENSION[ext] ?? "file";
}
