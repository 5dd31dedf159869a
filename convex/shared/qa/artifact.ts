/** `QaArtifact`: one produced file as QA sees it (name, stored size, the bytes read). */

export interface QaArtifact {
  name: string;
  type?: string;
  size: number;
  bytes: Uint8Array;
  /**
   * Set when QA did not read the content (it is larger than QA reads; see convex/model/qaRead.ts): the
   * reason. A `file` deliverable passes its type check on the stored size; any other type fails it
   * with this reason.
   */
  unread?: string;
  /**
   * Set when `bytes` is a sample of a file larger than QA reads (its head, and for a PDF its tail):
   * what was sampled. The type is sniffed from it; checks that need the whole content are not run on it.
   */
  sniffed?: string;
}
