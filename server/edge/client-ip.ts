import "server-only";
import { BlockList, isIP } from "node:net";
import { env } from "../env";
import { normalizeAddress, peerAddress } from "./peer";

/*
 * Who is calling: the one client-address function, used by sign-in throttling (tRPC context), the
 * widget and /v1 rate limits.
 *
 * The client is the socket's peer (stamped by instrumentation.ts, see peer.ts). X-Forwarded-For
 * is believed only when that peer is a proxy listed in ATELIER_TRUSTED_PROXIES; then its entries
 * are walked from the right (the nearest hop) past every trusted proxy, and the first address
 * that is not one is the client. With no trusted proxy (the default) the header is ignored, so a
 * client cannot pick its own rate-limit bucket.
 */

/** A matcher for addresses and CIDR ranges ("10.0.0.0/8", "::1"), as ATELIER_TRUSTED_PROXIES lists them. */
export function trustedProxies(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split("/");
    const family = isIP(addr!) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr!, family);
    else list.addSubnet(addr!, Number(bits), family);
  }
  return (address) => list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/**
 * The client's address given the socket peer and the X-Forwarded-For header: the peer unless it
 * is trusted; then the right-most X-Forwarded-For entry that is not a trusted proxy. An entry that
 * is not an address stops the walk at the last good one (a trusted proxy never writes garbage, so
 * it came from further left: the client's side).
 */
export function resolveClientIp(peer: string | null, forwardedFor: string | null, isTrusted: (address: string) => boolean): string | null {
  if (!peer || !isTrusted(peer) || !forwardedFor) return peer;
  let client = peer;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (!hop) break;
    client = hop;
    if (!isTrusted(hop)) break;
  }
  return client;
}

type TrustCache = { source: string; isTrusted: (address: string) => boolean };
let cache: TrustCache | undefined;

/** The client address of a request under `trusted` (default ATELIER_TRUSTED_PROXIES); null when the server did not stamp the peer (in-process calls). */
export function clientIp(req: Request, trusted: readonly string[] = env().ATELIER_TRUSTED_PROXIES): string | null {
  const source = trusted.join(",");
  if (cache?.source !== source) cache = { source, isTrusted: trustedProxies(trusted) };
  return resolveClientIp(peerAddress(req.headers), req.headers.get("x-forwarded-for"), cache.isTrusted);
}
