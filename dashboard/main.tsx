/** The page `lakitu dev` serves: `LakituDashboard` over `devFunctions`, fed by `LocalApiClient`. */
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider } from "convex/react";
import { LakituDashboard } from "../react/Dashboard.js";
import { devFunctions } from "./functions.js";
import { LocalApiClient } from "./localClient.js";

const localClient = new LocalApiClient();

/** The server's own word on what it keeps (`/api/info`: `lakitu dev` and `lakitu demo` say it differently). */
function Notice() {
  const [note, setNote] = useState<string>();
  useEffect(() => {
    fetch("/api/info")
      .then(async (r) => ((await r.json()) as { persistence?: { note?: string } }).persistence?.note)
      .then(setNote, () => setNote("Run history is not kept: this server keeps everything in memory."));
  }, []);
  return note ? (
    <p className="lk-notice" role="note">
      {note}
    </p>
  ) : null;
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ConvexProvider client={localClient.asReactClient()}>
      <LakituDashboard functions={devFunctions} hashRoute notice={<Notice />} />
    </ConvexProvider>
  </StrictMode>,
);
