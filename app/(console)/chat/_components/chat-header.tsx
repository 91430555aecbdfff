import type { ReactNode } from "react";

export function ChatHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="flex h-12 shrink-0 items-center gap-3 border-b border-zinc-200 px-4 dark:border-zinc-800">
      <div className="flex min-w-0 items-center gap-2 text-sm font-medium">{title}</div>
      <div className="ml-auto flex items-center gap-2">{children}</div>
    </div>
  );
}
