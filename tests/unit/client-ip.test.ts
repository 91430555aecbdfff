// clientIp(): the socket's peer by default; X-Forwarded-For only past proxies the operator trusts.
// Every expected address below is written by hand from the request, not computed by the code.
import { describe, expect, it } from "vitest";
import { parseEnv } from "@/server/env-schema.mjs";
import { clientIp, resolveClientIp, trustedProxies } from "@/server/edge/client-ip";
import { normalizeAddress, PEER_HEADER, peerAddress, peerStamp } from "@/server/edge/peer";

/** A request as the server sees it: stamped with the socket's peer, plus whatever headers the client sent. */
function request(peer: string | null, headers: Record<string, string> = {}): Request {
  const h = new Headers(headers);
  if (peer !== null) h.set(PEER_HEADER, peerStamp(peer));
  return new Request("http://atelier.test/api/x", { headers: h });
}

describe("clientIp without trusted proxies (the default)", () => {
  it("is the socket's peer", () => {
    expect(clientIp(request("203.0.113.7"), [])).toBe("203.0.113.7");
    expect(clientIp(request("2001:db8::1"), [])).toBe("2001:db8::1");
  });

  it("ignores X-Forwarded-For and X-Real-IP, whatever they say", () => {
    const spoofed = request("203.0.113.7", { "x-forwarded-for": "198.51.100.1, 10.0.0.1", "x-real-ip": "198.51.100.2" });
    expect(clientIp(spoofed, [])).toBe("203.0.113.7");
  });

  it("reads an IPv4-mapped IPv6 peer as IPv4 (what Node reports on a dual-stack socket)", () => {
    expect(clientIp(request("::ffff:192.0.2.5"), [])).toBe("192.0.2.5");
  });

  it("refuses a peer header a client wrote itself (no valid stamp): the address is unknown", () => {
    const forged = new Request("http://atelier.test/", { headers: { [PEER_HEADER]: "guess 198.51.100.9", "x-forwarded-for": "198.51.100.9" } });
    expect(peerAddress(forged.headers)).toBeNull();
    expect(clientIp(forged, [])).toBeNull();
    expect(clientIp(new Request("http://atelier.test/"), [])).toBeNull();
  });
});

describe("clientIp behind trusted proxies", () => {
  const proxies = ["10.0.0.0/8", "192.168.1.10", "fd00::/8"];

  it("walks X-Forwarded-For from the right past trusted hops to the first untrusted address", () => {
    // client 198.51.100.1 → proxy 10.1.2.3 → proxy 192.168.1.10 (the peer)
    expect(clientIp(request("192.168.1.10", { "x-forwarded-for": "198.51.100.1, 10.1.2.3" }), proxies)).toBe("198.51.100.1");
  });

  it("does not let a client prepend addresses: the hop the proxy appended wins", () => {
    // The client sent "X-Forwarded-For: 1.1.1.1"; the trusted proxy appended the real peer 203.0.113.50.
    expect(clientIp(request("10.0.0.2", { "x-forwarded-for": "1.1.1.1, 203.0.113.50" }), proxies)).toBe("203.0.113.50");
  });

  it("ignores X-Forwarded-For when the peer itself is not trusted", () => {
    expect(clientIp(request("203.0.113.9", { "x-forwarded-for": "198.51.100.1" }), proxies)).toBe("203.0.113.9");
  });

  it("is the peer when a trusted proxy sent no X-Forwarded-For", () => {
    expect(clientIp(request("10.0.0.2"), proxies)).toBe("10.0.0.2");
  });

  it("stops at an entry that is not an address (it came from the client's side)", () => {
    expect(clientIp(request("10.0.0.2", { "x-forwarded-for": "not-an-ip, 10.9.9.9" }), proxies)).toBe("10.9.9.9");
  });

  it("is the left-most entry when every hop is trusted", () => {
    expect(clientIp(request("10.0.0.2", { "x-forwarded-for": "10.0.0.5, 10.0.0.4" }), proxies)).toBe("10.0.0.5");
  });

  it("matches IPv6 ranges, and IPv4 entries with a port", () => {
    expect(clientIp(request("fd12::1", { "x-forwarded-for": "2001:db8::7" }), proxies)).toBe("2001:db8::7");
    expect(clientIp(request("10.0.0.2", { "x-forwarded-for": "198.51.100.3:51234" }), proxies)).toBe("198.51.100.3");
  });
});

describe("the pieces", () => {
  it("trustedProxies matches single addresses and CIDR ranges", () => {
    const trusted = trustedProxies(["10.0.0.0/8", "127.0.0.1", "::1"]);
    expect(trusted("10.255.0.1")).toBe(true);
    expect(trusted("11.0.0.1")).toBe(false);
    expect(trusted("127.0.0.1")).toBe(true);
    expect(trusted("127.0.0.2")).toBe(false);
    expect(trusted("::1")).toBe(true);
  });

  it("resolveClientIp with no peer is unknown", () => {
    expect(resolveClientIp(null, "198.51.100.1", () => true)).toBeNull();
  });

  it("normalizeAddress", () => {
    expect(normalizeAddress(" [::1]:8080 ")).toBe("::1");
    expect(normalizeAddress("::FFFF:10.0.0.1")).toBe("10.0.0.1");
    expect(normalizeAddress("1.2.3.4:80")).toBe("1.2.3.4");
    expect(normalizeAddress("example.com")).toBeNull();
  });

  it("ATELIER_TRUSTED_PROXIES accepts addresses and CIDRs and names a bad entry", () => {
    expect(parseEnv({}).ATELIER_TRUSTED_PROXIES).toEqual([]);
    expect(parseEnv({ ATELIER_TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1 ::1" }).ATELIER_TRUSTED_PROXIES).toEqual(["10.0.0.0/8", "127.0.0.1", "::1"]);
    expect(() => parseEnv({ ATELIER_TRUSTED_PROXIES: "10.0.0.0/8,proxy.local" })).toThrow(/ATELIER_TRUSTED_PROXIES.*proxy\.local/);
  });
});
