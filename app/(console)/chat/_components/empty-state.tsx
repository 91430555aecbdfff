import type { Assistant } from "@/app/_lib/types";
import { AssistantAvatar } from "./assistant-avatar";

interface Props {
  assistant: Pick<Assistant, "name" | "color" | "avatar" | "greeting" | "starterQuestions" | "modelLabel">;
  onStarter: (question: string) => void;
  disabled?: boolean;
}

/** Greeting + starter questions shown before the first message. */
export function EmptyState({ assistant, onStarter, disabled }: Props) {
  return (
    <div className="mx-auto flex max-w-2xl flex-col items-center px-4 py-10 text-center">
      <AssistantAvatar name={assistant.name} color={assistant.color} avatar={assistant.avatar} size="lg" />
      <h1 className="mt-4 text-xl font-semibold tracking-tight">{assistant.name}</h1>
      {assistant.modelLabel && <p className="mt-1 font-mono text-xs text-zinc-500">{assistant.modelLabel}</p>}
      <p data-testid="assistant-greeting" className="mt-4 max-w-prose whitespace-pre-wrap text-[15px] leading-6 text-zinc-600 dark:text-zinc-400">
        {assistant.greeting || "How can I help?"}
      </p>
      {assistant.starterQuestions.length > 0 && (
        <ul className="mt-8 grid w-full gap-2 sm:grid-cols-2">
          {assistant.starterQuestions.map((q) => (
            <li key={q}>
              <button
                type="button"
                data-testid="starter-question"
                disabled={disabled}
                onClick={() => onStarter(q)}
                className="h-full w-full rounded-xl border border-zinc-200 px-4 py-3 text-left text-sm text-zinc-700 hover:border-zinc-300 hover:bg-zinc-50 disabled:opacity-50 dark:border-zinc-800 dark:text-zinc-300 dark:hover:border-zinc-700 dark:hover:bg-zinc-900"
              >
                {q}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
