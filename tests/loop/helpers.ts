import { readNdjson, type NdEvent } from "../widget/helpers";

export const SITE = "https://shop.example";

/** One widget turn over real HTTP, as the embedded widget on SITE sends it. */
export async function widgetChat(url: string, publicId: string, visitorId: string, content: string, conversationId?: string) {
  const res = await fetch(`${url}/api/widget/${publicId}/chat`, {
    method: "POST",
    headers: { origin: SITE, "content-type": "application/json" },
    body: JSON.stringify({ visitorId, content, ...(conversationId ? { conversationId } : {}) }),
  });
  if (res.status !== 200) throw new Error(`widget chat: HTTP ${res.status}: ${await res.text()}`);
  const events = await readNdjson(res);
  const done = events.find((e) => e.type === "done") as (NdEvent & { message: { id: string; content: string } }) | undefined;
  const conv = events.find((e) => e.type === "conversation") as (NdEvent & { conversationId: string }) | undefined;
  if (!done || !conv) throw new Error(`widget chat ended without an answer: ${JSON.stringify(events.at(-1))}`);
  return { conversationId: conv.conversationId, messageId: done.message.id, answer: done.message.content };
}

export async function widgetFeedback(url: string, publicId: string, body: { visitorId: string; conversationId: string; messageId: string; value: 1 | -1 | null; comment?: string }) {
  return fetch(`${url}/api/widget/${publicId}/feedback`, { method: "POST", headers: { origin: SITE, "content-type": "application/json" }, body: JSON.stringify(body) });
}
