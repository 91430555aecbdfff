import { formatStats } from "@/app/_lib/format";
import type { Message } from "@/app/_lib/types";

export function StatusBadge({ status }: { status: Message["status"] }) {
  if (status === "complete") return null;
  const styles: Record<Exclude<Message["status"], "complete">, string> = {
    streaming: "border-accent-200 text-accent-700 dark:border-accent-900 dark:text-accent-400",
    interrupted: "border-zinc-300 text-zinc-600 dark:border-zinc-700 dark:text-zinc-400",
    error: "border-red-200 text-red-700 dark:border-red-900 dark:text-red-400",
  };
  const label = { streaming: "Generating", interrupted: "Interrupted", error: "Error" }[status];
  return (
    <span
      data-testid="message-status"
      data-status={status}
      className={`rounded-full border px-1.5 py-px text-[11px] font-medium ${styles[status]}`}
    >
      {label}
    </span>
  );
}

export function ModelChip({ message }: { message: Pick<Message, "modelId" | "modelLabel"> }) {
  const label = message.modelLabel ?? message.modelId;
  if (!label) return null;
  return (
    <span
      data-testid="model-chip"
      title={message.modelId ? `Model ${message.modelId}` : undefined}
      className="max-w-48 truncate rounded-md bg-zinc-100 px-1.5 py-px font-mono text-[11px] text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400"
    >
      {label}
    </span>
  );
}

/** One quiet line under an assistant reply: model chip, status badge, speed stats. */
export function MessageMeta({ message, streaming }: { message: Message; streaming: boolean }) {
  const stats = streaming ? "" : formatStats(message);
  return (
    <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-xs text-zinc-500">
      <ModelChip message={message} />
      <StatusBadge status={message.status} />
      {stats && (
        <span data-testid="message-stats" className="tabular-nums">
          {stats}
        </span>
      )}
    </div>
  );
}
