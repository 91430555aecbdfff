// PDF and DOCX through both upload paths that share the parser: the knowledge router (tRPC
// caller, lexical search only) and the training studio's HTTP upload route.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { studioDatasets } from "@/server/studio/schema";
import { collect, freshApp } from "../helpers/app";
import { buildDocx } from "../helpers/docx";
import { buildPdf } from "../helpers/pdf";

let app: Awaited<ReturnType<typeof freshApp>>;
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

const PDF = buildPdf([
  { firstLineSize: 20, lines: ["Lighthouse Manual", "The lamp turns once every twelve seconds.", "", "Clean the lens each morning before dawn."] },
  { lines: ["Fog signal: sound the horn twice a minute while visibility is below one mile."] },
]);
const DOCX = buildDocx([
  { heading: 1, text: "Keeper Rota" },
  { text: "The night keeper logs the weather every four hours." },
  { heading: 2, text: "Handover" },
  { text: "Handover happens at six, with the log signed by both keepers." },
]);

beforeAll(async () => {
  app = await freshApp();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("knowledge upload", () => {
  it("indexes a PDF with page headings and a DOCX with its headings; preview agrees", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Binary" });
    const preview = await app.caller().knowledge.preview({ fileName: "manual.pdf", data: b64(PDF) });
    expect(preview.format).toBe("pdf");

    const pdfEvents = await collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "manual.pdf", data: b64(PDF) }));
    const docxEvents = await collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "rota.docx", data: b64(DOCX) }));
    expect(pdfEvents.at(-1)).toMatchObject({ type: "done" });
    expect(docxEvents.at(-1)).toMatchObject({ type: "done" });

    const docs = await app.caller().knowledge.documents({ collectionId: col.id });
    expect(docs.map((d) => [d.title, d.mime]).sort()).toEqual([
      ["Keeper Rota", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
      ["Lighthouse Manual", "application/pdf"],
    ]);
    const pdfDoc = await app.caller().knowledge.document({ id: docs.find((d) => d.mime === "application/pdf")!.id });
    expect(JSON.stringify(pdfDoc)).toContain("Page 2");

    const hits = await app.caller().knowledge.search({ query: "fog horn visibility", collectionIds: [col.id] });
    expect(JSON.stringify(hits)).toContain("Page 2");
    const rota = await app.caller().knowledge.search({ query: "handover log signed", collectionIds: [col.id] });
    expect(JSON.stringify(rota)).toContain("Handover");
  });

  it("refuses an encrypted PDF by name and stores nothing", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Locked" });
    const locked = buildPdf([{ lines: ["secret"] }], { encrypted: true });
    await expect(
      (async () => collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "locked.pdf", data: b64(locked) })))(),
    ).rejects.toThrow(/"locked\.pdf": the PDF is encrypted/);
    expect(await app.caller().knowledge.documents({ collectionId: col.id })).toEqual([]);
  });
});

describe("studio upload", () => {
  async function upload(name: string, files: { name: string; body: Uint8Array }[]) {
    const { POST } = await import("@/app/api/studio/datasets/route");
    const form = new FormData();
    form.set("name", name);
    for (const f of files) form.append("files", new File([Buffer.from(f.body)], f.name));
    const headers = new Headers({ cookie: `atelier_session=${app.admin.token}`, "x-atelier-csrf": app.admin.csrfToken });
    const res = await POST(new Request("http://localhost/api/studio/datasets", { method: "POST", body: form, headers }));
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  it("turns a PDF and a DOCX into text records", async () => {
    const r = await upload("manuals", [{ name: "manual.pdf", body: PDF }, { name: "rota.docx", body: DOCX }]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const ds = await app.caller().studio.datasets.get({ id: r.body.dataset.id });
    expect(ds.files.map((f: { name: string; format: string }) => [f.name, f.format])).toEqual([
      ["manual.pdf", "pdf"],
      ["rota.docx", "docx"],
    ]);
    expect(JSON.stringify(ds.samples)).toContain("twelve seconds");
  });

  it("refuses an image-only PDF by name, storing nothing", async () => {
    const before = app.db.select().from(studioDatasets).all().length;
    const r = await upload("scans", [{ name: "scan.pdf", body: buildPdf([{ lines: [] }]) }]);
    expect(r.status).toBe(400);
    expect(r.body.error.file).toBe("scan.pdf");
    expect(r.body.error.message).toMatch(/no extractable text \(scanned\?/);
    expect(app.db.select().from(studioDatasets).all().length).toBe(before);
  });
});
