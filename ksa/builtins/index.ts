/** The KSAs every Lakitu sandbox ships with, in the order the reference lists them. */
import type { KsaDefinition } from "../types.js";
import { artifacts } from "./artifacts.js";
import { file } from "./file.js";
import { pdf } from "./pdf.js";
import { plan } from "./plan.js";
import { shell } from "./shell.js";
import { web } from "./web.js";

export { artifacts, file, pdf, plan, shell, web };

export const BUILTIN_KSAS: KsaDefinition[] = [file, shell, artifacts, plan, pdf, web];
