/** The built-in KSAs, as the worker loads them unless a test substitutes a fake. */
export { BUILTIN_KSAS, createKsaModule, resolveAllowed } from "../ksa/index.js";
