import { httpRouter } from "convex/server";
import { httpAction } from "./_generated/server";

// The app's own route; Lakitu's are mounted by app.use(lakitu, { httpPrefix: "/lakitu/" }).
const http = httpRouter();
http.route({ path: "/health", method: "GET", handler: httpAction(async () => new Response("ok")) });
export default http;
