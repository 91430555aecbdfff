"use client";

import type { Assistant } from "@/app/_lib/types";

interface Props {
  assistants: Pick<Assistant, "id" | "name" | "avatar" | "modelLabel">[];
  value: string | null;
  onChange: (id: string) => void;
}

export function AssistantPicker({ assistants, value, onChange }: Props) {
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="text-zinc-500">Assistant</span>
      <select
        data-testid="assistant-picker"
        value={value ?? ""}
        onChange={(e) => onChange(e.target.value)}
        className="rounded-md border border-zinc-200 bg-white px-2 py-1 text-sm focus:border-accent-500 focus:outline-none focus:ring-2 focus:ring-accent-500/20 dark:border-zinc-700 dark:bg-zinc-900"
      >
        {assistants.map((a) => (
          <option key={a.id} value={a.id}>
            {a.avatar ? `${a.avatar} ` : ""}
            {a.name}
            {a.modelLabel ? ` — ${a.modelLabel}` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
