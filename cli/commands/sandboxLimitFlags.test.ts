/** `lakitu sandbox serve`'s resource limit flags: parsed into the host's limits, bad values refused naming the flag. */
import { afterEach, describe, expect, test } from "vitest";
import { UsageError } from "../errors.js";
import { makeApp, type App } from "../testing/fixtures.js";
import { lakitu } from "../testing/run.js";
import { limitsFromFlags } from "./sandboxLimitFlags.js";

const MiB = 1 << 20;
const apps: App[] = [];
afterEach(() => apps.splice(0).forEach((a) => a.cleanup()));

describe("sandbox serve limit flags", () => {
  test("become the host's limits; none given keeps the defaults", () => {
    expect(limitsFromFlags({ memory: "512MiB", disk: "2GiB", "disk-files": 5000, shm: "16MiB", cpu: "90s", processes: 64 })).toEqual({
      limits: { memoryBytes: 512 * MiB, diskBytes: 2048 * MiB, diskEntries: 5000, shmBytes: 16 * MiB, cpuMs: 90_000, maxProcesses: 64 },
      cgroups: true,
    });
    expect(limitsFromFlags({ cpu: "off", "no-cgroups": true })).toEqual({ limits: { cpuMs: Infinity }, cgroups: false });
    expect(limitsFromFlags({})).toEqual({ limits: {}, cgroups: true });
  });

  test("a bad value is a usage error naming the flag, the problem and what is allowed", () => {
    const message = (flags: Parameters<typeof limitsFromFlags>[0]) => {
      try {
        limitsFromFlags(flags);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as UsageError).message;
      }
      throw new Error("accepted");
    };
    expect(message({ memory: "lots" })).toBe('lakitu sandbox serve: --memory: "lots" is not a size; use bytes or a unit (KiB, MiB, GiB), e.g. 512MiB, or off');
    expect(message({ memory: "1MiB" })).toBe("lakitu sandbox serve: --memory: 1048576 is below the minimum of 8388608");
    expect(message({ cpu: "soon" })).toMatch(/^lakitu sandbox serve: --cpu: "soon" is not a duration/);
  });

  test("the command refuses a bad value with exit code 2, and prints the limits it serves with", async () => {
    const a = makeApp({ "package.json": "{}\n", "rt/main.js": "\n" });
    apps.push(a);
    const bad = await lakitu(a.root, ["sandbox", "serve", "--port", "0", "--isolation", "none", "--runtime", "rt", "--shm", "big"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--shm: "big" is not a size');

    const stop = new AbortController();
    let printed = "";
    const done = lakitu(a.root, ["sandbox", "serve", "--port", "0", "--isolation", "none", "--runtime", "rt", "--memory", "512MiB", "--cpu", "90s", "--no-cgroups"], {
      signal: stop.signal,
      onStdout: (t) => {
        printed += t;
        if (printed.includes("limits per sandbox")) stop.abort();
      },
    });
    expect((await done).code).toBe(0);
    expect(printed).toMatch(/limits per sandbox: memory 512 MiB, disk 1 GiB \/ 200000 files, \/dev\/shm 64 MiB, CPU 90 s, 256 processes .*no cgroups \(disabled by the cgroups option\)/);
  });
});
