import type { ReactNode } from "react";
import { RUN_STATUS_LABEL, RUN_STATUS_TONE } from "@/app/_lib/eval-format";

// The evaluation pages speak the console's form vocabulary (models page) and the studio's layout pieces.
export { FormError, FormSuccess, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";
export { Section, cardClass, labelClass } from "../../studio/_components/ui";
export { AssistantSelect } from "../../studio/_components/versions-panel";

export function EvalStatusPill({ status }: { status: string }) {
  return (
    <span data-testid="eval-run-status" data-status={status} className={`whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ${RUN_STATUS_TONE[status] ?? ""}`}>
      {RUN_STATUS_LABEL[status] ?? status}
    </span>
  );
}

export function PageFrame({ children }: { children: ReactNode }) {
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6">{children}</div>
    </div>
  );
}

export const smallButtonClass =
  "rounded-md border border-zinc-200 px-2 py-1 text-xs font-medium text-zinc-700 hover:bg-zinc-100 disabled:cursor-not-allowed disabled:opacity-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800";
