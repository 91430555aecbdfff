import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDocument, createCollection, planBm25Query, searchBm25 } from "@/server/knowledge";
import { bytes, tempDb } from "./helpers";

let ctx: ReturnType<typeof tempDb>;
beforeAll(async () => {
  ctx = tempDb();
  const col = createCollection(ctx.db, { name: "p" });
  for (let i = 0; i < 40; i++) {
    const extra = i < 20 ? " alpha" : "";
    await addDocument(ctx.db, { collectionId: col.id, fileName: `d${i}.txt`, bytes: bytes(`Common filler word${i} here.${extra}${i === 7 ? " alpha alpha alpha" : ""}`) });
  }
});
afterAll(() => ctx.close());

describe("BM25 query planner", () => {
  it("keeps rare terms and leaves out terms over the document-frequency budget", () => {
    const [plan, ...rest] = planBm25Query(ctx.db, "common word7 alpha", { budget: 10 });
    expect(rest).toEqual([]);
    expect(plan).toEqual({ match: '"word7"', kept: ["word7"], dropped: ["common", "alpha"], operator: "OR" });
    const [wide] = planBm25Query(ctx.db, "common word7 alpha", { budget: 1000 });
    expect(wide!.kept).toEqual(["common", "word7", "alpha"]);
    expect(planBm25Query(ctx.db, "common word7 alpha", { exhaustive: true, budget: 10 })[0]!.kept).toEqual(["common", "word7", "alpha"]);
  });

  it("every term common: all of them AND-ed, then the rarest alone", () => {
    const plans = planBm25Query(ctx.db, "common alpha", { budget: 10 });
    // Both counts stop at the cap (budget + 1), so "rarest" is the first of the query.
    expect(plans.map((p) => [p.operator, p.kept])).toEqual([
      ["AND", ["common", "alpha"]],
      ["OR", ["common"]],
    ]);
    expect(plans[0]!.match).toBe('"common" AND "alpha"');
    const hits = searchBm25(ctx.db, "common alpha", { limit: 3, dfBudget: 10 });
    expect(hits).toHaveLength(3);
  });

  it("terms found nowhere are ignored; a single term is never pruned", () => {
    expect(planBm25Query(ctx.db, "zzzunknown qqqnothing", { budget: 10 })).toEqual([]);
    expect(planBm25Query(ctx.db, "zzzunknown word3", { budget: 10 })[0]!.kept).toEqual(["word3"]);
    expect(planBm25Query(ctx.db, "common", { budget: 1 })[0]!.kept).toEqual(["common"]);
  });

  it("the cached frequencies follow writes", async () => {
    expect(planBm25Query(ctx.db, "common brandnew", { budget: 10 })[0]!.kept).toEqual(["common"]);
    const col = createCollection(ctx.db, { name: "q" });
    await addDocument(ctx.db, { collectionId: col.id, fileName: "new.txt", bytes: bytes("brandnew thing") });
    expect(planBm25Query(ctx.db, "common brandnew", { budget: 10 })[0]!.kept).toEqual(["brandnew"]);
  });
});
