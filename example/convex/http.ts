import { httpRouter } from "convex/server";
import { registerRoutes } from "lakitu";
import { components } from "./_generated/api";

const http = httpRouter();
// The routes the sandbox runtime calls: https://<deployment>.convex.site/lakitu/{events,heartbeat,...}
registerRoutes(http, components.lakitu, { pathPrefix: "/lakitu/" });
export default http;
