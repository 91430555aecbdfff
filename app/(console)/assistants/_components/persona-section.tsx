"use client";

import { inputClass } from "../../models/_components/panel";
import { AVATARS, COLORS, LIMITS, type Settings } from "../_lib/draft";
import { CharCount, Field, Section } from "./form-fields";

type Props = { draft: Settings; update: (patch: Partial<Settings>) => void };

export function PersonaSection({ draft, update }: Props) {
  return (
    <Section id="persona" title="Persona" description="Who the assistant is: its name, look and the system prompt that sets its behaviour.">
      <div className="grid gap-4 sm:grid-cols-[1fr_auto]">
        <Field label="Name" htmlFor="assistant-name">
          <input
            id="assistant-name"
            data-testid="assistant-name"
            className={inputClass}
            value={draft.name}
            maxLength={80}
            placeholder="e.g. Support guide"
            onChange={(e) => update({ name: e.target.value })}
          />
        </Field>
        <Field label="Avatar" htmlFor="assistant-avatar">
          <input
            id="assistant-avatar"
            className={`${inputClass} w-24 text-center`}
            value={draft.avatar ?? ""}
            maxLength={LIMITS.avatar}
            placeholder="🤖"
            onChange={(e) => update({ avatar: e.target.value })}
          />
        </Field>
      </div>
      <div className="flex flex-wrap items-center gap-1.5">
        {AVATARS.map((a) => (
          <button
            key={a}
            type="button"
            aria-label={`Avatar ${a}`}
            aria-pressed={draft.avatar === a}
            onClick={() => update({ avatar: a })}
            className={`grid size-8 place-items-center rounded-lg text-base hover:bg-zinc-100 dark:hover:bg-zinc-800 ${draft.avatar === a ? "ring-2 ring-accent-500" : ""}`}
          >
            {a}
          </button>
        ))}
        <span className="mx-2 h-6 w-px bg-zinc-200 dark:bg-zinc-800" />
        {COLORS.map((c) => (
          <button
            key={c}
            type="button"
            aria-label={`Color ${c}`}
            aria-pressed={draft.color === c}
            onClick={() => update({ color: c })}
            style={{ backgroundColor: c }}
            className={`size-6 rounded-full ring-offset-2 ring-offset-white dark:ring-offset-zinc-900 ${draft.color === c ? "ring-2 ring-zinc-900 dark:ring-zinc-100" : ""}`}
          />
        ))}
        <label className="ml-1 flex items-center gap-1 text-xs text-zinc-500">
          <input type="color" value={draft.color} onChange={(e) => update({ color: e.target.value })} className="size-6 cursor-pointer rounded border-0 bg-transparent p-0" />
          Custom
        </label>
      </div>
      <Field
        label="System prompt"
        htmlFor="assistant-system-prompt"
        aside={<CharCount value={draft.systemPrompt} limit={LIMITS.systemPrompt} />}
        hint="Sent before every conversation. Describe the role, tone and boundaries; put reference material in a knowledge collection."
      >
        <textarea
          id="assistant-system-prompt"
          data-testid="assistant-system-prompt"
          className={`${inputClass} min-h-40 resize-y font-mono text-[13px] leading-5`}
          value={draft.systemPrompt}
          onChange={(e) => update({ systemPrompt: e.target.value })}
          placeholder="You are a friendly guide for …"
        />
      </Field>
    </Section>
  );
}
