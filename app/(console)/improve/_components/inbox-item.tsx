"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";

const MAX_CORRECTION = 8000;

type Scrubbed = { before: string; after: string; changed: boolean };
export type InboxItemView = {
  messageId: string;
  conversationId: string;
  conversationTitle: string;
  channel: string;
  createdAt: number;
  question: Scrubbed;
  answer: Scrubbed;
  pii: { total: number };
  rating: number | null;
  comment: string | null;
  modelLabel: string | null;
  citations: number;
  regenerated: boolean;
  outOfScope: boolean;
  review: { action: string; correction: string | null; reviewedAt: number } | null;
};

function Text({ label, text, showOriginal }: { label: string; text: Scrubbed; showOriginal: boolean }) {
  return (
    <div>
      <p className="text-xs font-medium text-zinc-500">{label}</p>
      {text.changed && showOriginal ? (
        <div className="grid gap-2 sm:grid-cols-2">
          <p className="whitespace-pre-wrap rounded bg-red-50 p-2 dark:bg-red-950/30" data-testid="pii-before"><span className="block text-[10px] uppercase text-zinc-500">Before</span>{text.before}</p>
          <p className="whitespace-pre-wrap rounded bg-emerald-50 p-2 dark:bg-emerald-950/30" data-testid="pii-after"><span className="block text-[10px] uppercase text-zinc-500">After (what trains)</span>{text.after}</p>
        </div>
      ) : (
        <p className="whitespace-pre-wrap">{text.after}</p>
      )}
    </div>
  );
}

/** One answer in the inbox: what was asked and answered, its signals, and the reviewer's actions. */
export function InboxItemCard({ item, evalSets, onChanged }: { item: InboxItemView; evalSets: { id: string; name: string }[]; onChanged: () => unknown }) {
  const trpc = useTRPC();
  const [correcting, setCorrecting] = useState(false);
  const [correction, setCorrection] = useState(item.review?.correction ?? item.answer.after);
  const [evalSetId, setEvalSetId] = useState(evalSets[0]?.id ?? "");
  const [scrubPii, setScrubPii] = useState(true);
  const review = useMutation(trpc.loop.review.mutationOptions({ onSuccess: () => onChanged() }));
  const undo = useMutation(trpc.loop.undo.mutationOptions({ onSuccess: () => onChanged() }));
  const act = (action: "good" | "corrected" | "eval" | "dismissed") =>
    review.mutate({ messageId: item.messageId, action, scrubPii, ...(action === "corrected" ? { correction } : {}), ...(action === "eval" ? { evalSetId } : {}) });
  return (
    <li className="space-y-2 rounded-xl border border-zinc-200 p-4 text-sm dark:border-zinc-800" data-testid="inbox-item" data-message-id={item.messageId}>
      <div className="flex flex-wrap gap-2 text-xs text-zinc-500">
        <span className="rounded bg-zinc-100 px-1.5 dark:bg-zinc-800">{item.channel}</span>
        <span>{new Date(item.createdAt).toLocaleString()}</span>
        {item.modelLabel && <span>· {item.modelLabel}</span>}
        {item.rating !== null && <span>{item.rating > 0 ? "👍" : "👎"}</span>}
        {item.regenerated && <span>· regenerated</span>}
        {item.outOfScope && <span>· out-of-scope reply</span>}
        {item.citations > 0 && <span>· {item.citations} citation{item.citations === 1 ? "" : "s"}</span>}
        {item.pii.total > 0 && <span className="text-amber-700">· {item.pii.total} personal detail{item.pii.total === 1 ? "" : "s"} scrubbed</span>}
      </div>
      <Text label="Question" text={item.question} showOriginal={scrubPii} />
      <Text label="Answer" text={item.answer} showOriginal={scrubPii} />
      {item.comment && <p className="text-xs italic text-zinc-600">“{item.comment}”</p>}
      {item.review ? (
        <div className="flex items-center gap-3 text-xs">
          <span data-testid="review-state">Reviewed: {item.review.action}{item.review.correction ? ` → “${item.review.correction.slice(0, 120)}”` : ""}</span>
          <button type="button" className="text-zinc-500 hover:underline" onClick={() => undo.mutate({ messageId: item.messageId })}>Undo</button>
        </div>
      ) : (
        <div className="flex flex-wrap items-center gap-2">
          <button type="button" className={secondaryButtonClass} data-testid="mark-good" onClick={() => act("good")}>Good</button>
          <button type="button" className={secondaryButtonClass} data-testid="correct" onClick={() => setCorrecting((v) => !v)}>Correct…</button>
          <span className="flex items-center gap-1">
            <select aria-label="Eval set" value={evalSetId} onChange={(e) => setEvalSetId(e.target.value)} className={`${inputClass} w-auto`}>
              {evalSets.length === 0 && <option value="">No eval sets</option>}
              {evalSets.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
            </select>
            <button type="button" className={secondaryButtonClass} data-testid="add-to-eval" disabled={!evalSetId} onClick={() => act("eval")}>Add question to eval set</button>
          </span>
          <button type="button" className={secondaryButtonClass} data-testid="dismiss" onClick={() => act("dismissed")}>Dismiss</button>
          <label className="ml-auto flex items-center gap-1 text-xs"><input type="checkbox" checked={scrubPii} onChange={(e) => setScrubPii(e.target.checked)} /> Scrub personal details</label>
        </div>
      )}
      {correcting && !item.review && (
        <form className="space-y-2" onSubmit={(e) => { e.preventDefault(); act("corrected"); }}>
          <textarea data-testid="correction" value={correction} onChange={(e) => setCorrection(e.target.value)} rows={4} className={inputClass} aria-label="Corrected answer" />
          <div className="flex items-center gap-2">
            <button type="submit" className={primaryButtonClass} data-testid="save-correction">Save correction</button>
            <span className={`text-xs ${correction.length > MAX_CORRECTION ? "text-red-600" : "text-zinc-500"}`}>{correction.length.toLocaleString()} / {MAX_CORRECTION.toLocaleString()}</span>
          </div>
        </form>
      )}
      {(review.error || undo.error) && <FormError message={(review.error ?? undo.error)!.message} />}
    </li>
  );
}
