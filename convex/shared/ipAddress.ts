/**
 * Which destinations the `web` KSA may reach, decided on addresses, not spellings.
 *
 * Pure code (no Node built-ins): it runs in Convex's default runtime, in convex-test and in the Node
 * transport that checks the addresses DNS returns. Every IPv4 spelling the WHATWG URL parser accepts
 * (decimal `2130706433`, hex `0x7f000001`, octal `0177.0.0.1`, short `127.1`) is parsed to the same
 * number, and IPv6 forms that carry an IPv4 address (mapped, translated, NAT64, 6to4) are judged by the
 * address they carry.
 */

/** Why an address or host name is refused, or null when it may be fetched. */
export type Refusal = string | null;

type V4Range = { base: number; bits: number; why: string };

const v4 = (dotted: string, bits: number, why: string): V4Range => ({ base: parseIPv4(dotted)!, bits, why });

/** Every IPv4 range that is not the public internet (IANA special-purpose registry, RFC 6890 and later). */
const REFUSED_V4: V4Range[] = [
  v4("0.0.0.0", 8, "the 'this network' range 0.0.0.0/8"),
  v4("10.0.0.0", 8, "a private address (10.0.0.0/8)"),
  v4("100.64.0.0", 10, "a carrier-grade NAT address (100.64.0.0/10)"),
  v4("127.0.0.0", 8, "a loopback address (127.0.0.0/8)"),
  v4("169.254.169.254", 32, "the cloud metadata address 169.254.169.254"),
  v4("169.254.0.0", 16, "a link-local address (169.254.0.0/16)"),
  v4("172.16.0.0", 12, "a private address (172.16.0.0/12)"),
  v4("192.0.0.0", 24, "an IETF protocol address (192.0.0.0/24)"),
  v4("192.0.2.0", 24, "a documentation address (192.0.2.0/24)"),
  v4("192.88.99.0", 24, "the 6to4 relay range (192.88.99.0/24)"),
  v4("192.168.0.0", 16, "a private address (192.168.0.0/16)"),
  v4("198.18.0.0", 15, "a benchmarking address (198.18.0.0/15)"),
  v4("198.51.100.0", 24, "a documentation address (198.51.100.0/24)"),
  v4("203.0.113.0", 24, "a documentation address (203.0.113.0/24)"),
  v4("224.0.0.0", 4, "a multicast address (224.0.0.0/4)"),
  v4("255.255.255.255", 32, "the broadcast address 255.255.255.255"),
  v4("240.0.0.0", 4, "a reserved address (240.0.0.0/4)"),
];

/**
 * Parses an IPv4 host the way the WHATWG URL parser does: one to four parts, each decimal, hex (`0x`)
 * or octal (leading `0`); the last part fills the remaining bytes. Returns the address as an unsigned
 * 32-bit number, or null when `host` is not an IPv4 address.
 */
export function parseIPv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length < 1 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIPv4Part(part);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return null;
  return numbers.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

function parseIPv4Part(part: string): number | null {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
  } else if (part.length > 1 && part.startsWith("0")) {
    digits = part.slice(1);
    radix = 8;
  }
  if (digits === "") return radix === 16 ? 0 : null;
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return null;
  const n = parseInt(digits, radix);
  return Number.isSafeInteger(n) ? n : null;
}

/** Parses an IPv6 address (brackets optional, embedded dotted IPv4 allowed) into eight 16-bit words. */
export function parseIPv6(host: string): number[] | null {
  let text = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (text.includes("%")) return null; // zone ids only name link-local scopes; the URL parser rejects them too
  const lastColon = text.lastIndexOf(":");
  const dottedTail = text.slice(lastColon + 1);
  if (lastColon >= 0 && dottedTail.includes(".")) {
    // An embedded IPv4 tail (::ffff:127.0.0.1) must be plain dotted decimal; it becomes two words.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(dottedTail)) return null;
    const n = parseIPv4(dottedTail);
    if (n === null || dottedTail.split(".").some((p) => p.length > 1 && p.startsWith("0"))) return null;
    text = `${text.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const words = (s: string) => (s === "" ? [] : s.split(":"));
  const head = words(halves[0]);
  const rest = halves.length === 2 ? words(halves[1]) : [];
  const parsed: number[] = [];
  for (const w of [...head, ...rest]) {
    if (!/^[0-9a-f]{1,4}$/i.test(w)) return null;
    parsed.push(parseInt(w, 16));
  }
  if (halves.length === 1 ? parsed.length !== 8 : parsed.length > 7) return null;
  const fill = new Array<number>(8 - parsed.length).fill(0);
  return [...parsed.slice(0, head.length), ...fill, ...parsed.slice(head.length)];
}

/** The refusal for an IPv4 address (as returned by `parseIPv4`), or null for a public address. */
export function classifyIPv4(address: number): Refusal {
  for (const r of REFUSED_V4) {
    const size = 2 ** (32 - r.bits);
    if (Math.floor(address / size) === Math.floor(r.base / size)) return r.why;
  }
  return null;
}

const v4FromWords = (hi: number, lo: number) => hi * 65536 + lo;
const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

function embedded(form: string, address: number): Refusal {
  const why = classifyIPv4(address);
  return why === null ? null : `${form} of ${dotted(address)}, ${why}`;
}

/** The refusal for an IPv6 address (eight words), or null for a public (global unicast) address. */
export function classifyIPv6(w: number[]): Refusal {
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return "the unspecified address ::";
  if (zeros(0, 7) && w[7] === 1) return "the loopback address ::1";
  if (zeros(0, 5) && w[5] === 0xffff) return embedded("an IPv4-mapped address", v4FromWords(w[6], w[7]));
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) return embedded("an IPv4-translated address", v4FromWords(w[6], w[7]));
  if (zeros(0, 6)) return "an IPv4-compatible address (::/96, deprecated)";
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return embedded("a NAT64 address", v4FromWords(w[6], w[7]));
  if (w[0] === 0x64 && w[1] === 0xff9b && w[2] === 1) return "a local-use NAT64 address (64:ff9b:1::/48)";
  if (w[0] === 0xfd00 && w[1] === 0x0ec2 && zeros(2, 7) && w[7] === 0x254) return "the cloud metadata address fd00:ec2::254";
  if ((w[0] & 0xfe00) === 0xfc00) return "a unique-local address (fc00::/7)";
  if ((w[0] & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if ((w[0] & 0xffc0) === 0xfec0) return "a site-local address (fec0::/10)";
  if ((w[0] & 0xff00) === 0xff00) return "a multicast address (ff00::/8)";
  if (w[0] === 0x2002) return embedded("a 6to4 address", v4FromWords(w[1], w[2]));
  if (w[0] === 0x2001 && w[1] === 0) return "a Teredo address (2001::/32)";
  if (w[0] === 0x2001 && w[1] === 0x0db8) return "a documentation address (2001:db8::/32)";
  if (w[0] === 0x2001 && w[1] < 0x200) return "an IETF protocol address (2001::/23)";
  if (w[0] === 0x3fff && w[1] < 0x1000) return "a documentation address (3fff::/20)";
  if ((w[0] & 0xe000) !== 0x2000) return "not a global unicast address (outside 2000::/3)";
  return null;
}

/** Host names that name the deployment's own network rather than the internet. */
const REFUSED_NAMES = ["localhost", "metadata", "metadata.google.internal", "metadata.goog", "instance-data"];
const REFUSED_SUFFIXES = [".localhost", ".internal", ".local", ".localdomain", ".home.arpa", ".lan", ".intranet", ".corp", ".svc", ".arpa"];

/**
 * The refusal for a URL host name (as `URL.hostname` gives it), or null. Literal addresses are judged by
 * their address; names by the rules a resolver-less runtime can apply: local and metadata names and
 * single-label names (which resolve through search domains to internal hosts) are refused. A public
 * name that DNS points at a private address passes this check: that case is covered only where the
 * addresses are checked after resolution (see convex/gateway/webFetch.ts).
 */
export function classifyHost(hostname: string): Refusal {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[") || host.includes(":")) {
    const words = parseIPv6(host);
    return words ? classifyIPv6(words) : "not a valid IPv6 address";
  }
  const n = parseIPv4(host);
  if (n !== null) return classifyIPv4(n);
  if (host === "") return "an empty host";
  if (REFUSED_NAMES.includes(host) || REFUSED_SUFFIXES.some((s) => host.endsWith(s))) return `a local or metadata host name (${host})`;
  if (!host.includes(".")) return `a single-label host name (${host}), which resolves to internal hosts`;
  return null;
}

/** The refusal for an address string returned by DNS (IPv4 dotted or IPv6), or null. */
export function classifyAddress(address: string): Refusal {
  if (address.includes(":")) {
    const words = parseIPv6(address);
    return words ? classifyIPv6(words) : `an address DNS returned that is not valid (${address})`;
  }
  const n = parseIPv4(address);
  return n === null ? `an address DNS returned that is not valid (${address})` : classifyIPv4(n);
}

/** True for 127.0.0.0/8 and ::1 (including their mapped forms); used only by the test-only escape. */
export function isLoopback(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, "");
  if (host.includes(":")) {
    const w = parseIPv6(host);
    if (!w) return false;
    if (w.slice(0, 7).every((x) => x === 0) && w[7] === 1) return true;
    return w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff && w[6] >> 8 === 127;
  }
  const n = parseIPv4(host);
  return n !== null && Math.floor(n / 2 ** 24) === 127;
}
