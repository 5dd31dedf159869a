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
 * The user agent code runs as: no sudo, no home, no login. The runtime runs as root (holding the session
 * token) and starts each step as this user (`LAKITU_AGENT_USER`), so agent code cannot read it.
 */
export const AGENT_USER = "lakitu-agent";
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
    .runCmd(`useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${AGENT_USER}`, { user: "root" })
    // Shared by the default user, the runtime and the agent user; sticky, so none deletes another's files.
    .runCmd(`mkdir -p ${WORKSPACE_DIR} && chmod 1777 ${WORKSPACE_DIR}`, { user: "root" })
    .setWorkdir(WORKSPACE_DIR)
    .setEnvs({ LAKITU_RUNTIME: `${RUNTIME_DIR}/main.js`, LAKITU_AGENT_USER: AGENT_USER });
}
