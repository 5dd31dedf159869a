/**
 * The redactor for component code: the session token (when the caller has one), the configured literal
 * `redact` strings, the values of the configured `secrets` env vars and the model keys. Values are read
 * from the component's environment at each use and never stored.
 */
import { env } from "../component/_generated/server.js";
import { knownSecrets, makeRedactor, type Redactor } from "../shared/redact.js";
import type { ResolvedConfig } from "./config.js";

export function componentRedactor(config: Pick<ResolvedConfig, "redact" | "secrets">, token?: string): Redactor {
  return makeRedactor(knownSecrets(env, { token, redact: config.redact, secretVars: config.secrets }));
}
