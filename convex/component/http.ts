import { httpRouter } from "convex/server";
import { httpAction } from "./_generated/server.js";
import { api } from "./_generated/api.js";
import { runtimeRoutes } from "../shared/routes.js";

/** Served under the app's mount prefix: `app.use(lakitu, { httpPrefix: "/lakitu/" })`. */
const http = httpRouter();
// Inside the component, ctx.storage is the component's: the artifacts route stores bodies itself.
for (const r of runtimeRoutes({ runtime: api.runtime, gateway: api.gateway }, { ownStorage: true })) {
  http.route({ path: `/${r.path}`, method: r.method, handler: httpAction(r.handler) });
}
export default http;
