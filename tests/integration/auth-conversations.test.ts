import { beforeAll, describe, expect, it } from "vitest";
import { conversations } from "@/server/db/schema";
import { freshApp } from "../helpers/app";

// Console conversations are private to the user who started them, admins included.
let app: Awaited<ReturnType<typeof freshApp>>;

beforeAll(async () => {
  app = await freshApp();
});

describe("conversation ownership", () => {
  it("each user sees and changes only their own conversations", async () => {
    const admin = app.caller();
    const viewer = await app.callerAs("viewer");
    const [assistant] = await admin.assistants.list();
    const mine = await admin.conversations.create({ assistantId: assistant!.id, title: "Admin's plans" });
    const theirs = await viewer.conversations.create({ assistantId: assistant!.id, title: "Viewer's plans" });
    expect(mine.userId).toBe(app.admin.user.id);

    expect((await admin.conversations.list()).map((c) => c.id)).toEqual([mine.id]);
    expect((await viewer.conversations.list()).map((c) => c.id)).toEqual([theirs.id]);
    expect((await viewer.conversations.list({ search: "plans" })).map((c) => c.id)).toEqual([theirs.id]);

    const missing = { code: "NOT_FOUND", message: `Conversation ${mine.id} does not exist.` };
    await expect(viewer.conversations.get({ id: mine.id })).rejects.toMatchObject(missing);
    await expect(viewer.conversations.rename({ id: mine.id, title: "Mine now" })).rejects.toMatchObject(missing);
    await expect(viewer.conversations.delete({ id: mine.id })).rejects.toMatchObject(missing);
    await expect(viewer.chat.send({ kind: "send", conversationId: mine.id, content: "hello" })).rejects.toMatchObject(missing);
    await expect(admin.conversations.get({ id: theirs.id })).rejects.toMatchObject({ code: "NOT_FOUND" });

    const still = await admin.conversations.get({ id: mine.id });
    expect(still.conversation.title).toBe("Admin's plans");
    expect(still.messages).toHaveLength(0);
  });

  it("widget and pre-account conversations are not in anyone's console list", async () => {
    const [assistant] = await app.caller().assistants.list();
    const { newId } = await import("@/server/ids");
    const widget = app.db.insert(conversations).values({ id: newId(), assistantId: assistant!.id, title: "w", channel: "widget" }).returning().get();
    const orphan = app.db.insert(conversations).values({ id: newId(), assistantId: assistant!.id, title: "o" }).returning().get();
    const ids = (await app.caller().conversations.list()).map((c) => c.id);
    expect(ids).not.toContain(widget.id);
    expect(ids).not.toContain(orphan.id);
    await expect(app.caller().conversations.get({ id: widget.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
