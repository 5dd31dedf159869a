/** The harness itself: without Chromium the browser tests fail (never skip), saying how to install it. */
import { afterEach, expect, test } from "vitest";
import { launchBrowser } from "./harness.js";

const saved = process.env.LAKITU_CHROMIUM;
afterEach(() => {
  if (saved === undefined) delete process.env.LAKITU_CHROMIUM;
  else process.env.LAKITU_CHROMIUM = saved;
});

test("a missing Chromium fails with the install command", async () => {
  process.env.LAKITU_CHROMIUM = "/nonexistent/chromium";
  await expect(launchBrowser()).rejects.toThrow(/Chromium at \/nonexistent\/chromium, which does not exist: install it with `apt-get install -y chromium`/);
});
