// Resolved with moduleResolution "node10", which reads only the top-level "types" field.
import { Lakitu, isLakituError, type LakituOptions } from "lakitu";

export type Client = Lakitu;
export const options: LakituOptions = {};
export const check = isLakituError;
