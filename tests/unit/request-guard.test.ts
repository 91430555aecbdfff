// Which requests are sent to app/api/bad-request before Next.js routes them (server/edge/request-guard.ts).
// The expectations are written by hand from the URLs.
import { describe, expect, it } from "vitest";
import { redirectFor } from "@/server/edge/request-guard";

describe("request guard", () => {
  it("sends paths that are not valid percent-encoding to the 400 route", () => {
    for (const url of ["/v1/%", "/w/%E0%A4%A", "/api/trpc/%", "/api/widget/x/%zz/chat", "/%C3%28?x=1"]) {
      expect(redirectFor("GET", url), url).toBe("/api/bad-request?reason=encoding");
    }
  });

  it("sends non-GET/HEAD requests for static files to the 405 route", () => {
    for (const url of ["/widget.js", "/icon.svg", "/_next/static/chunks/0-abc.js", "/favicon.ico?v=1"]) {
      expect(redirectFor("POST", url), url).toBe("/api/bad-request?reason=method");
      expect(redirectFor("DELETE", url), url).toBe("/api/bad-request?reason=method");
      expect(redirectFor("GET", url), url).toBeNull();
      expect(redirectFor("HEAD", url), url).toBeNull();
    }
  });

  it("leaves everything else alone: API routes, pages, valid encodings, a query that is not valid encoding", () => {
    for (const [method, url] of [
      ["POST", "/api/trpc/chat.send?batch=1"],
      ["POST", "/v1/chat/completions"],
      ["POST", "/api/widget/asst_x/chat"],
      ["GET", "/w/asst_AAAAAAAAAAAAAAAA"],
      ["POST", "/login"],
      ["GET", "/knowledge/doc/%C3%A9t%C3%A9"],
      ["GET", "/chat?q=%zz"],
    ] as const) {
      expect(redirectFor(method, url), `${method} ${url}`).toBeNull();
    }
  });
});
