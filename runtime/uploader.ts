/**
 * Uploads the output folder as artifacts: new or changed files only (by sha256), in a stable order,
 * one sync at a time. Symlinks are never followed (a link to /proc/self/environ must not become an
 * artifact), and a file containing the session token is refused.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { artifactNameProblem, typeFromName } from "../convex/shared/names.js";
import { AbortedError, GiveUpError, LakituHttpError, RunOverError, type LakituClient, type ManifestEntry } from "./client.js";

/**
 * The most the runtime sends of one file (the component's hard maximum of maxArtifactBytes); bigger
 * files are reported, not sent. The component's configured cap is checked before any byte is sent
 * (POST /upload-url), and files that must pass through the component's route are limited further
 * (MAX_ROUTE_UPLOAD_BYTES, see LakituClient.uploadArtifact).
 */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
/** The component accepts at most this many manifest entries. */
export const MAX_FILES = 500;

const CONTENT_TYPES: Record<string, string> = {
  markdown: "text/markdown; charset=utf-8",
  json: "application/json",
  csv: "text/csv; charset=utf-8",
  pdf: "application/pdf",
  png: "image/png",
  jpeg: "image/jpeg",
  text: "text/plain; charset=utf-8",
  html: "text/html; charset=utf-8",
  file: "application/octet-stream",
};

export type UploaderOptions = {
  /** Declared deliverable types by name; other files get a type from their extension. */
  declaredTypes?: ReadonlyMap<string, string>;
  /** Values that must not leave the sandbox inside a file. */
  secrets?: readonly string[];
  /** Reports uploads and skipped files (the runtime turns these into events). */
  onEvent?: (kind: "upload" | "error", text: string, data: Record<string, unknown>) => void;
};

export type SyncOptions = { giveUpAt?: number; signal?: AbortSignal };

export class Uploader {
  /** name → sha256 of the version the component has. */
  private readonly uploaded = new Map<string, { sha256: string; type: string }>();
  /** name → sha256 already reported as refused or skipped, so each problem is reported once. */
  private readonly reported = new Map<string, string>();
  private present: string[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: LakituClient,
    private readonly outputDir: string,
    private readonly options: UploaderOptions = {},
  ) {}

  /** Uploads what changed since the last sync. Syncs never overlap; a second call waits for the first. */
  sync(opts: SyncOptions = {}): Promise<{ uploaded: number }> {
    const run = this.chain.then(() => this.syncNow(opts));
    this.chain = run.catch(() => {});
    return run;
  }

  /** The files in the output folder at the last sync that the component has, with their hashes. */
  manifest(): ManifestEntry[] {
    return this.present.flatMap((name) => {
      const u = this.uploaded.get(name);
      return u ? [{ name, type: u.type, sha256: u.sha256 }] : [];
    });
  }

  private async syncNow(opts: SyncOptions): Promise<{ uploaded: number }> {
    const files = await listFiles(this.outputDir, (name, why) => this.reportOnce(name, why, why));
    if (files.length > MAX_FILES) this.reportOnce("(output folder)", `${files.length} files`, `the output folder has ${files.length} files; only the first ${MAX_FILES} are uploaded`);
    this.present = files.slice(0, MAX_FILES);
    let count = 0;
    for (const name of this.present) {
      if (opts.signal?.aborted) break;
      const path = join(this.outputDir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (st.size === 0) {
        this.reportOnce(name, "empty", `${name} is empty; empty files are not uploaded`);
        continue;
      }
      if (st.size > MAX_UPLOAD_BYTES) {
        this.reportOnce(name, `size:${st.size}`, `${name} is ${st.size} bytes; the upload limit is ${MAX_UPLOAD_BYTES}`);
        continue;
      }
      const bytes = await readFile(path).catch(() => undefined);
      if (!bytes) continue;
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (this.uploaded.get(name)?.sha256 === sha256 || this.reported.get(name) === sha256) continue;
      if ((this.options.secrets ?? []).some((s) => s.length >= 8 && bytes.includes(s))) {
        this.reportOnce(name, sha256, `${name} contains the session token; it was not uploaded`);
        continue;
      }
      const type = this.options.declaredTypes?.get(name) ?? typeFromName(name);
      try {
        const r = await this.client.uploadArtifact(name, bytes, { type, contentType: CONTENT_TYPES[type] ?? CONTENT_TYPES.file, sha256 }, opts);
        this.uploaded.set(name, { sha256, type });
        count++;
        this.options.onEvent?.("upload", `uploaded ${name}`, { name, type, size: bytes.length, sha256, version: r.version, duplicate: r.duplicate });
      } catch (e) {
        if (e instanceof RunOverError || e instanceof AbortedError || e instanceof GiveUpError) throw e;
        if (e instanceof LakituHttpError) {
          this.reportOnce(name, sha256, `${name} was refused: ${e.message}`);
          continue;
        }
        throw e;
      }
    }
    return { uploaded: count };
  }

  private reportOnce(name: string, key: string, message: string): void {
    if (this.reported.get(name) === key) return;
    this.reported.set(name, key);
    this.options.onEvent?.("error", message, { name });
  }
}

/** Regular files under `dir`, as sorted `/`-separated relative names; symlinks and bad names skipped. */
async function listFiles(dir: string, skip: (name: string, why: string) => void): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) {
        skip(name, `${name} is a symbolic link; links are not uploaded`);
      } else if (e.isDirectory()) {
        if (out.length <= MAX_FILES) await visit(name);
      } else if (e.isFile()) {
        const problem = artifactNameProblem(name);
        if (problem) skip(name, `${name} cannot be uploaded: ${problem}`);
        else out.push(name);
      }
    }
  };
  await visit("");
  return out.sort();
}
