/**
 * The example app's board: `LakituDashboard` from `lakitu/react` over the app's own wrapper functions
 * (src/functions.ts), talking to the deployment at VITE_CONVEX_URL. Open `?board=<boardId>` for one
 * board; without it, the signed-in user's boards and a New board form.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider, ConvexReactClient } from "convex/react";
import { LakituDashboard } from "lakitu/react";
import { functions } from "./functions";

const root = createRoot(document.getElementById("root")!);
const url = import.meta.env.VITE_CONVEX_URL;
if (!url) {
  root.render(
    <p role="alert">
      VITE_CONVEX_URL is not set: run <code>npx convex dev</code> in example/ (it writes example/.env.local), then <code>npx vite</code> here.
    </p>,
  );
} else {
  const client = new ConvexReactClient(url);
  const boardId = new URLSearchParams(location.search).get("board") ?? undefined;
  root.render(
    <StrictMode>
      <ConvexProvider client={client}>
        <LakituDashboard functions={functions} boardId={boardId} hashRoute />
      </ConvexProvider>
    </StrictMode>,
  );
}
