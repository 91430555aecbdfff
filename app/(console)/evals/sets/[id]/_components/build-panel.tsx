"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, FormSuccess, inputClass, labelClass, primaryButtonClass, secondaryButtonClass } from "../../../_components/ui";

/** Candidate rows from a collection's structure (optionally rewritten by a generator model), and from rated conversations. */
export function BuildPanel({ setId, assistantId, onBuilt }: { setId: string; assistantId: string | null; onBuilt: () => void }) {
  const trpc = useTRPC();
  const collections = useQuery(trpc.knowledge.collections.queryOptions());
  const models = useQuery(trpc.models.list.queryOptions());
  const [collectionId, setCollectionId] = useState("");
  const [limit, setLimit] = useState(30);
  const [gen, setGen] = useState<"none" | "model" | "endpoint">("none");
  const [genModel, setGenModel] = useState("");
  const [endpoint, setEndpoint] = useState({ url: "", model: "", apiKey: "" });
  const [notice, setNotice] = useState<string | null>(null);
  const build = useMutation(
    trpc.evals.sets.buildFromCollection.mutationOptions({
      onSuccess: (r) => {
        setNotice(
          `${r.added} candidate${r.added === 1 ? "" : "s"} to review${r.skippedExisting ? ` (${r.skippedExisting} already in the set)` : ""}.${r.generator ? ` Generator ${r.generator.used}: ${r.generator.rewritten} rewritten.${r.generator.note ? ` ${r.generator.note}` : ""}` : ""}`,
        );
        onBuilt();
      },
    }),
  );
  const fromChats = useMutation(
    trpc.evals.sets.fromConversations.mutationOptions({
      onSuccess: (r) => {
        setNotice(`${r.added} rated answer${r.added === 1 ? "" : "s"} added for review${r.skipped ? ` (${r.skipped} skipped: already added or no question)` : ""}.`);
        onBuilt();
      },
    }),
  );
  const chosen = collectionId || collections.data?.[0]?.id || "";
  const generator =
    gen === "model" && genModel ? { kind: "model" as const, modelId: genModel } : gen === "endpoint" ? { kind: "endpoint" as const, url: endpoint.url, model: endpoint.model, apiKey: endpoint.apiKey || null } : null;
  return (
    <div className="space-y-3" data-testid="build-panel">
      <div className="grid gap-3 sm:grid-cols-[1fr_8rem]">
        <div>
          <label htmlFor="build-collection" className={labelClass}>
            Knowledge collection
          </label>
          <select id="build-collection" value={chosen} onChange={(e) => setCollectionId(e.target.value)} className={inputClass} data-testid="build-collection">
            {collections.data?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.documentCount} documents)
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="build-limit" className={labelClass}>
            At most
          </label>
          <input id="build-limit" type="number" min={1} max={200} value={limit} onChange={(e) => setLimit(Number(e.target.value) || 1)} className={inputClass} />
        </div>
      </div>
      <fieldset>
        <legend className={labelClass}>Wording</legend>
        <div className="flex flex-wrap gap-3 text-sm">
          {(["none", "model", "endpoint"] as const).map((k) => (
            <label key={k} className="flex items-center gap-1.5">
              <input type="radio" name="generator" checked={gen === k} onChange={() => setGen(k)} />
              {k === "none" ? "the documents' own (headings, FAQ pairs, definitions)" : k === "model" ? "written by a registered model" : "written by an OpenAI-compatible endpoint"}
            </label>
          ))}
        </div>
        {gen === "model" && (
          <select aria-label="Generator model" value={genModel} onChange={(e) => setGenModel(e.target.value)} className={`${inputClass} mt-2 max-w-sm`}>
            <option value="">Choose a model…</option>
            {models.data?.filter((m) => m.status === "ready").map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        )}
        {gen === "endpoint" && (
          <div className="mt-2 grid gap-2 sm:grid-cols-3">
            <input aria-label="Generator URL" placeholder="https://host/v1" value={endpoint.url} onChange={(e) => setEndpoint({ ...endpoint, url: e.target.value })} className={inputClass} />
            <input aria-label="Generator model name" placeholder="model name" value={endpoint.model} onChange={(e) => setEndpoint({ ...endpoint, model: e.target.value })} className={inputClass} />
            <input aria-label="Generator API key" type="password" placeholder="API key" value={endpoint.apiKey} onChange={(e) => setEndpoint({ ...endpoint, apiKey: e.target.value })} className={inputClass} />
          </div>
        )}
      </fieldset>
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className={primaryButtonClass}
          disabled={!chosen || build.isPending}
          data-testid="build-candidates"
          onClick={() => {
            setNotice(null);
            build.mutate({ setId, collectionId: chosen, limit, generator });
          }}
        >
          {build.isPending ? "Building…" : "Build candidates"}
        </button>
        {assistantId && (
          <button type="button" className={secondaryButtonClass} disabled={fromChats.isPending} onClick={() => fromChats.mutate({ setId, assistantId, ratings: "both", limit: 100 })}>
            Add rated answers from conversations
          </button>
        )}
      </div>
      {notice && <FormSuccess message={notice} />}
      {build.isError && <FormError message={errorMessage(build.error)} />}
      {fromChats.isError && <FormError message={errorMessage(fromChats.error)} />}
    </div>
  );
}
