/**
 * The sandbox image, as an E2B `Template` builder definition: a Node image, the tools agent code runs
 * through the `shell` KSA, the bundled runtime at /opt/lakitu/runtime (what `lakitu build` writes to
 * `.lakitu/build/runtime`), and /home/user/workspace as the working directory.
 *
 * The local sandbox host mirrors it: it mounts the same runtime folder read-only at /opt/lakitu/runtime
 * and gives every sandbox /home/user/workspace as its working directory (see sandbox/host.ts).
 *
 * @example
 * const template = lakituTemplate({ contextDir: ".lakitu/build" });
 * Template.toDockerfile(template); // FROM node:22-bookworm-slim ...
 */
import { Template, type TemplateBuilder } from "e2b";

/** Where the runtime bundle lives in the sandbox; the provider starts `node ${RUNTIME_DIR}/main.js`. */
export const RUNTIME_DIR = "/opt/lakitu/runtime";
/** The runtime's working directory (the provider's default `cwd`). E2B's default user is `user`. */
export const WORKSPACE_DIR = "/home/user/workspace";
/** Node 22 LTS on Debian bookworm; the runtime bundle targets Node 20 and runs on it. */
export const NODE_IMAGE_VARIANT = "22-bookworm-slim";
/**
 * What agent code finds on PATH besides node. The built-in KSAs need nothing beyond Node (pdf, file
 * and artifacts are in the bundle); `shell.run` runs programs, and these are the ones agents reach for.
 */
export const SANDBOX_TOOLS = ["bash", "ca-certificates", "curl", "git", "jq", "procps", "python3", "ripgrep", "unzip", "zip"] as const;

export type LakituTemplateOptions = {
  /** Folder the COPY sources are relative to (the build output, e.g. `.lakitu/build`). */
  contextDir: string;
  /** The runtime bundle folder inside `contextDir`. Default `runtime`. */
  runtimeDir?: string;
  /** Tag of the `node` image. Default {@link NODE_IMAGE_VARIANT}. */
  nodeVariant?: string;
  /** More Debian packages to install. */
  aptPackages?: string[];
};

export function lakituTemplate(opts: LakituTemplateOptions): TemplateBuilder {
  return Template({ fileContextPath: opts.contextDir })
    .fromNodeImage(opts.nodeVariant ?? NODE_IMAGE_VARIANT)
    .aptInstall([...SANDBOX_TOOLS, ...(opts.aptPackages ?? [])], { noInstallRecommends: true })
    .runCmd("rm -rf /var/lib/apt/lists/*", { user: "root" })
    .copy(opts.runtimeDir ?? "runtime", RUNTIME_DIR, { user: "root" })
    .makeDir(WORKSPACE_DIR)
    .setWorkdir(WORKSPACE_DIR)
    .setEnvs({ LAKITU_RUNTIME: `${RUNTIME_DIR}/main.js` });
}
