import { describe, expect, test } from "vitest";
import { classifyAddress, classifyHost, isLoopback, parseIPv4, parseIPv6 } from "./ipAddress.js";

/** [host as it may appear in a URL or from DNS, what the refusal must mention] */
const REFUSED: [string, RegExp][] = [
  // every spelling of 127.0.0.1
  ["127.0.0.1", /loopback/],
  ["2130706433", /loopback/],
  ["0x7f000001", /loopback/],
  ["0X7F000001", /loopback/],
  ["0177.0.0.1", /loopback/],
  ["0x7f.0.0.1", /loopback/],
  ["0x7f.1", /loopback/],
  ["127.1", /loopback/],
  ["127.0.1", /loopback/],
  ["017700000001", /loopback/],
  ["127.0.0.1.", /loopback/],
  ["127.255.255.254", /loopback/],
  // the other IPv4 ranges
  ["0.0.0.0", /this network/],
  ["0", /this network/],
  ["0.1.2.3", /this network/],
  ["10.0.0.1", /private/],
  ["167772161", /private/],
  ["172.16.0.1", /private/],
  ["172.31.255.255", /private/],
  ["192.168.1.1", /private/],
  ["0xc0a80101", /private/],
  ["100.64.0.1", /carrier-grade NAT/],
  ["100.127.255.255", /carrier-grade NAT/],
  ["100.100.100.200", /carrier-grade NAT/], // Alibaba Cloud metadata
  ["169.254.169.254", /metadata/],
  ["2852039166", /metadata/],
  ["0251.0376.0251.0376", /metadata/],
  ["169.254.1.1", /link-local/],
  ["192.0.0.192", /IETF/],
  ["192.0.2.1", /documentation/],
  ["198.18.0.1", /benchmarking/],
  ["224.0.0.1", /multicast/],
  ["239.255.255.250", /multicast/],
  ["240.0.0.1", /reserved/],
  ["255.255.255.255", /broadcast/],
  // IPv6, and IPv6 forms that carry a refused IPv4 address
  ["[::1]", /loopback/],
  ["::1", /loopback/],
  ["[0:0:0:0:0:0:0:1]", /loopback/],
  ["[::]", /unspecified/],
  ["[::ffff:127.0.0.1]", /IPv4-mapped.*127\.0\.0\.1.*loopback/],
  ["[::ffff:7f00:1]", /IPv4-mapped.*loopback/],
  ["[0:0:0:0:0:ffff:a9fe:a9fe]", /IPv4-mapped.*metadata/],
  ["[::ffff:10.1.2.3]", /IPv4-mapped.*private/],
  ["[::ffff:0:127.0.0.1]", /IPv4-translated.*loopback/],
  ["[::127.0.0.1]", /IPv4-compatible/],
  ["[::8.8.8.8]", /IPv4-compatible/],
  ["[64:ff9b::127.0.0.1]", /NAT64.*loopback/],
  ["[64:ff9b::a9fe:a9fe]", /NAT64.*metadata/],
  ["[64:ff9b:1::1]", /local-use NAT64/],
  ["[2002:7f00:1::]", /6to4.*loopback/],
  ["[2002:c0a8:101::1]", /6to4.*private/],
  ["[fd00:ec2::254]", /metadata/],
  ["[fc00::1]", /unique-local/],
  ["[fdff:ffff::1]", /unique-local/],
  ["[fe80::1]", /link-local/],
  ["[febf::1]", /link-local/],
  ["[fec0::1]", /site-local/],
  ["[ff02::1]", /multicast/],
  ["[2001::1]", /Teredo/],
  ["[2001:db8::1]", /documentation/],
  ["[100::1]", /global unicast/],
  // names
  ["localhost", /local or metadata/],
  ["LOCALHOST.", /local or metadata/],
  ["api.localhost", /local or metadata/],
  ["metadata.google.internal", /local or metadata/],
  ["metadata.goog", /local or metadata/],
  ["db.corp.internal", /local or metadata/],
  ["printer.local", /local or metadata/],
  ["router.home.arpa", /local or metadata/],
  ["kubernetes.default.svc", /local or metadata/],
  ["intranet", /single-label/],
  ["metadata", /local or metadata/],
];

const ALLOWED = [
  "example.com",
  "EXAMPLE.com.",
  "8.8.8.8",
  "134744072", // 8.8.8.8
  "0x08080808",
  "1.1.1.1",
  "172.32.0.1", // just past 172.16.0.0/12
  "100.128.0.1", // just past 100.64.0.0/10
  "169.255.0.1",
  "[2606:4700:4700::1111]",
  "[2001:4860:4860::8888]",
  "[::ffff:8.8.8.8]",
  "[64:ff9b::808:808]",
  "[2002:808:808::1]",
];

describe("classifyHost", () => {
  test.each(REFUSED)("refuses %s", (host, why) => {
    expect(classifyHost(host)).toMatch(why);
  });

  test.each(ALLOWED)("allows %s", (host) => {
    expect(classifyHost(host)).toBeNull();
  });

  test("refuses what the URL parser turns every IPv4 spelling into", () => {
    for (const spelling of ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"]) {
      const { hostname } = new URL(`http://${spelling}/`);
      expect(classifyHost(hostname), `${spelling} -> ${hostname}`).toMatch(/loopback/);
    }
  });
});

describe("parsers", () => {
  test("parseIPv4 follows the WHATWG rules for parts and ranges", () => {
    expect(parseIPv4("1.2.3.4")).toBe(0x01020304);
    expect(parseIPv4("1.2.772")).toBe(0x01020304);
    expect(parseIPv4("0x")).toBe(0);
    expect(parseIPv4("256.0.0.1")).toBeNull();
    expect(parseIPv4("1.2.3.4.5")).toBeNull();
    expect(parseIPv4("4294967296")).toBeNull();
    expect(parseIPv4("08.0.0.1")).toBeNull(); // 8 is not an octal digit
    expect(parseIPv4("example.com")).toBeNull();
    expect(parseIPv4("1..2")).toBeNull();
  });

  test("parseIPv6 expands :: and embedded IPv4, and rejects malformed text", () => {
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(parseIPv6("[1::]")).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bad of ["1:2:3", "1::2::3", "12345::", "::ffff:1.2.3", "::ffff:01.2.3.4", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9"]) {
      expect(parseIPv6(bad), bad).toBeNull();
    }
    expect(classifyHost("[1::2::3]")).toMatch(/not a valid IPv6/);
  });

  test("classifyAddress judges what DNS returns", () => {
    expect(classifyAddress("10.0.0.5")).toMatch(/private/);
    expect(classifyAddress("::ffff:169.254.169.254")).toMatch(/metadata/);
    expect(classifyAddress("93.184.215.14")).toBeNull();
    expect(classifyAddress("not-an-ip")).toMatch(/not valid/);
  });

  test("isLoopback is true only for 127/8 and ::1", () => {
    expect(["127.0.0.1", "127.9.9.9", "[::1]", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["10.0.0.1", "169.254.169.254", "[fe80::1]", "localhost", "8.8.8.8"].some(isLoopback)).toBe(false);
  });
});
