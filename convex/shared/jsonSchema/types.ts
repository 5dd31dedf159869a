/** The compiled-schema, compile-result and validation-error types of the public surface. */
import type { Schema, SchemaDraft } from "@cfworker/json-schema";

/** A schema that passed declaration checks. Opaque: only `validateWithSchema` reads it. */
export interface CompiledSchema {
  readonly kind: "lakitu.jsonSchema";
  /** @internal the checked copy of the schema, indexed by `dereference` */
  readonly root: Schema;
  /** @internal */
  readonly lookup: Record<string, Schema | boolean>;
  /** @internal */
  readonly draft: SchemaDraft;
}

export type CompileResult = { ok: true; schema: CompiledSchema } | { ok: false; problems: string[] };

export interface SchemaValidationError {
  /** JSON pointer of the offending value inside the instance; "" is the root. */
  path: string;
  message: string;
}
