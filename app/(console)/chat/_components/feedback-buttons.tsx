"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/app/_lib/trpc";
import type { Message } from "@/app/_lib/types";

const MAX_COMMENT = 2000;

/** Thumbs up / down on an answer, with optional words; clicking the chosen thumb again clears it. */
export function FeedbackButtons({ message }: { message: Message }) {
  const trpc = useTRPC();
  const [value, setValue] = useState<number | null>(message.feedback ?? null);
  const [comment, setComment] = useState(message.feedbackComment ?? "");
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const rate = useMutation(trpc.chat.feedback.mutationOptions({ onSuccess: () => setSaved(true) }));

  const choose = (v: 1 | -1) => {
    const next = value === v ? null : v;
    setValue(next);
    setSaved(false);
    setEditing(next !== null);
    rate.mutate({ messageId: message.id, value: next, comment: next === null ? null : comment });
  };
  const button = (v: 1 | -1, label: string, glyph: string) => (
    <button
      type="button"
      data-testid={v > 0 ? "thumbs-up" : "thumbs-down"}
      aria-label={label}
      aria-pressed={value === v}
      onClick={() => choose(v)}
      className={`rounded-md px-1.5 py-0.5 text-xs ${value === v ? "bg-zinc-200 dark:bg-zinc-700" : "opacity-70 hover:bg-zinc-100 group-hover:opacity-100 dark:hover:bg-zinc-800"}`}
    >
      {glyph}
    </button>
  );
  return (
    <div className="flex flex-wrap items-center gap-1" data-testid="feedback">
      {button(1, "Good answer", "👍")}
      {button(-1, "Bad answer", "👎")}
      {editing && value !== null && (
        <form
          className="flex items-center gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            rate.mutate({ messageId: message.id, value: value > 0 ? 1 : -1, comment }, { onSuccess: () => setEditing(false) });
          }}
        >
          <input
            data-testid="feedback-comment"
            value={comment}
            maxLength={MAX_COMMENT}
            onChange={(e) => setComment(e.target.value)}
            placeholder={value > 0 ? "What was good? (optional)" : "What was wrong? (optional)"}
            className="w-56 rounded-md border border-zinc-300 bg-transparent px-2 py-0.5 text-xs dark:border-zinc-700"
          />
          <button type="submit" data-testid="feedback-save" className="rounded-md px-1.5 py-0.5 text-xs text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
            Send
          </button>
        </form>
      )}
      {saved && !editing && <span className="text-xs text-zinc-500" role="status">Thanks</span>}
      {rate.error && <span className="text-xs text-red-600" role="alert">{rate.error.message}</span>}
    </div>
  );
}
