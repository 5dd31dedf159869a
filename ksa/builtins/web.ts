/** `web`: fetches a URL through the component (the sandbox itself has no network policy to trust). */
import { z } from "zod";
import { MAX_WEB_FETCH_BYTES } from "../../convex/shared/defaults.js";
import { defineKSA } from "../define.js";

export const DEFAULT_FETCH_BYTES = 256 * 1024;
/** The component clamps fetches to this; asking for more is an error here rather than a silent cut. */
export const MAX_FETCH_BYTES = MAX_WEB_FETCH_BYTES;

export const web = defineKSA({
  name: "web",
  description: "Reads web pages and HTTP APIs. Only when the stage allows it: the request is made by the component.",
  category: "network",
  defaultAllowed: false,
  functions: {
    fetch: {
      description:
        `GETs an http(s) URL and returns its status, content type and body as text, cut at maxBytes (default ${DEFAULT_FETCH_BYTES}; truncated tells). ` +
        "Public internet hosts only, on ports 80 and 443, no user:pass@; private, loopback, link-local and metadata addresses are refused, " +
        "at most 5 redirects are followed (each checked the same way), and the whole request has 10 s.",
      params: z.strictObject({
        url: z.url({ protocol: /^https?$/ }).max(4096),
        maxBytes: z.number().int().min(1).max(MAX_FETCH_BYTES).default(DEFAULT_FETCH_BYTES),
      }),
      result: z.object({ status: z.number().int(), contentType: z.string(), text: z.string(), truncated: z.boolean() }),
      gateway: true,
    },
  },
});
