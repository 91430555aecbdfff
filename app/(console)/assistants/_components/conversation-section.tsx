"use client";

import { CloseIcon, PlusIcon } from "@/app/_components/icons";
import { inputClass } from "../../models/_components/panel";
import { LIMITS, type Settings } from "../_lib/draft";
import { CharCount, Field, Section, numberInputClass } from "./form-fields";

type Props = { draft: Settings; update: (patch: Partial<Settings>) => void };

export function ConversationSection({ draft, update }: Props) {
  const starters = draft.starterQuestions ?? [];
  const setStarter = (i: number, value: string) => update({ starterQuestions: starters.map((q, j) => (j === i ? value : q)) });
  return (
    <Section id="conversation" title="Conversation" description="How a chat opens, what it offers to ask, and how much of it the model remembers.">
      <Field label="Greeting" htmlFor="assistant-greeting" aside={<CharCount value={draft.greeting ?? ""} limit={LIMITS.greeting} />} hint="The first assistant bubble of a new conversation.">
        <textarea
          id="assistant-greeting"
          data-testid="assistant-greeting-input"
          className={`${inputClass} min-h-16 resize-y`}
          value={draft.greeting ?? ""}
          onChange={(e) => update({ greeting: e.target.value })}
          placeholder="Hi! Ask me anything about …"
        />
      </Field>
      <Field label={`Starter questions (${starters.length} / ${LIMITS.starterQuestions})`} hint="Shown as clickable chips in an empty chat.">
        <ul className="space-y-2">
          {starters.map((q, i) => (
            <li key={i} className="flex gap-2">
              <input
                aria-label={`Starter question ${i + 1}`}
                data-testid="starter-input"
                className={inputClass}
                value={q}
                maxLength={200}
                onChange={(e) => setStarter(i, e.target.value)}
              />
              <button
                type="button"
                aria-label={`Remove starter question ${i + 1}`}
                onClick={() => update({ starterQuestions: starters.filter((_, j) => j !== i) })}
                className="rounded-lg px-2 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 dark:hover:bg-zinc-800"
              >
                <CloseIcon width={14} height={14} />
              </button>
            </li>
          ))}
        </ul>
        {starters.length < LIMITS.starterQuestions && (
          <button
            type="button"
            data-testid="add-starter"
            onClick={() => update({ starterQuestions: [...starters, ""] })}
            className="mt-2 inline-flex items-center gap-1 rounded-md px-2 py-1 text-xs font-medium text-accent-600 hover:bg-accent-50 dark:text-accent-400 dark:hover:bg-accent-950"
          >
            <PlusIcon width={14} height={14} /> Add a starter question
          </button>
        )}
      </Field>
      <Field
        label="Out-of-scope reply"
        htmlFor="assistant-oos"
        aside={<CharCount value={draft.outOfScopeReply ?? ""} limit={LIMITS.outOfScopeReply} />}
        hint="Added to the system prompt as the exact reply for questions outside the assistant's domain."
      >
        <input
          id="assistant-oos"
          className={inputClass}
          value={draft.outOfScopeReply ?? ""}
          onChange={(e) => update({ outOfScopeReply: e.target.value })}
          placeholder="Sorry, I can only help with questions about …"
        />
      </Field>
      <Field label="History window" htmlFor="assistant-history" hint="How many earlier messages are sent with each question (0 = as many as fit the model's context).">
        <div className="flex items-center gap-3">
          <input
            id="assistant-history"
            type="range"
            min={0}
            max={50}
            value={Math.min(draft.historyWindow, 50)}
            onChange={(e) => update({ historyWindow: Number(e.target.value) })}
            className="flex-1 accent-accent-600"
          />
          <input
            type="number"
            aria-label="History window (messages)"
            min={0}
            max={LIMITS.historyWindow}
            value={Number.isNaN(draft.historyWindow) ? "" : draft.historyWindow}
            onChange={(e) => update({ historyWindow: e.target.valueAsNumber })}
            className={numberInputClass}
          />
        </div>
      </Field>
    </Section>
  );
}
