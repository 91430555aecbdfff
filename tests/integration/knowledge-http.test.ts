import { createTRPCClient, httpBatchStreamLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "@/server/api/root";
import { freshApp, signedInSession } from "../helpers/app";

// Uploads through the real route handler: session cookie, role and CSRF header all checked.
let app: Awaited<ReturnType<typeof freshApp>>;

async function post(path: string, headers: Record<string, string>, body: unknown) {
  const route = await import("@/app/api/trpc/[trpc]/route");
  return route.POST(
    new Request(`http://atelier.test/api/trpc/${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }),
  );
}

function client(session: { token: string; csrfToken: string }) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchStreamLink({
        url: "http://atelier.test/api/trpc",
        fetch: async (url, init) => (await import("@/app/api/trpc/[trpc]/route")).POST(new Request(url, init as RequestInit)),
        headers: { cookie: `atelier_session=${session.token}`, "x-atelier-csrf": session.csrfToken },
      }),
    ],
  });
}

beforeAll(async () => {
  app = await freshApp();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("knowledge upload over HTTP", () => {
  it("needs a session, the editor role and the CSRF header; then streams progress", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "HTTP" });
    const input = { collectionId: col.id, fileName: "notes.txt", data: Buffer.from("Moorings are checked every April.").toString("base64") };
    expect((await post("knowledge.upload", {}, input)).status).toBe(401);
    const editor = await signedInSession(app.db, "editor");
    expect((await post("knowledge.upload", { cookie: `atelier_session=${editor.token}` }, input)).status).toBe(403);
    const viewer = await signedInSession(app.db, "viewer");
    const asViewer = await post("knowledge.upload", { cookie: `atelier_session=${viewer.token}`, "x-atelier-csrf": viewer.csrfToken }, input);
    expect(asViewer.status).toBe(403);
    expect(await app.caller().knowledge.documents({ collectionId: col.id })).toEqual([]);

    const phases: string[] = [];
    let title = "";
    for await (const ev of await client(editor).knowledge.upload.mutate(input)) {
      if (ev.type === "progress") phases.push(ev.progress.phase);
      else title = ev.result.document.title;
    }
    expect(phases[0]).toBe("parsing");
    expect(phases.at(-1)).toBe("done");
    expect(title).toBe("notes");
    // Viewers can read what editors indexed (and open it from a citation).
    const [doc] = await client(viewer).knowledge.documents.query({ collectionId: col.id });
    expect((await client(viewer).knowledge.document.query({ id: doc!.id })).text).toContain("Moorings");
  });

  it("a bad file fails over HTTP with its clear message", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "HTTP bad" });
    const editor = await signedInSession(app.db, "editor");
    const run = async () => {
      for await (const _ of await client(editor).knowledge.upload.mutate({ collectionId: col.id, fileName: "data.json", data: Buffer.from("{nope").toString("base64") })) {
        /* drain */
      }
    };
    await expect(run()).rejects.toThrow(/"data\.json"/);
    expect(await app.caller().knowledge.documents({ collectionId: col.id })).toEqual([]);
  });
});
