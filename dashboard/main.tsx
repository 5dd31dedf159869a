/** The page `lakitu dev` serves: `LakituDashboard` over `devFunctions`, fed by `LocalApiClient`. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider } from "convex/react";
import { LakituDashboard } from "../react/Dashboard.js";
import { devFunctions } from "./functions.js";
import { LocalApiClient } from "./localClient.js";

const localClient = new LocalApiClient();

const notice = (
  <p className="lk-notice" role="note">
    <strong>lakitu dev</strong>: run history is not kept. Everything lives in memory, so a restart of lakitu dev starts from the declared
    boards (lakitu/boards.json) again.
  </p>
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ConvexProvider client={localClient.asReactClient()}>
      <LakituDashboard functions={devFunctions} hashRoute notice={notice} />
    </ConvexProvider>
  </StrictMode>,
);
