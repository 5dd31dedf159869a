/** Errors KSA code throws. Their messages are what the agent reads, so each names what to do. */

/** A KSA definition is malformed (thrown by `defineKSA` when the module is loaded). */
export class KsaDefinitionError extends Error {
  override name = "KsaDefinitionError";
}

/** Agent code touched a KSA the stage does not allow, or one that does not exist. */
export class KsaPolicyError extends Error {
  override name = "KsaPolicyError";
}

/** A KSA function call failed: bad params, a refused path, a failed command, an invalid result. */
export class KsaCallError extends Error {
  override name = "KsaCallError";
  constructor(
    readonly ksa: string,
    readonly fn: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${ksa}.${fn}: ${message}`, options);
  }
}
