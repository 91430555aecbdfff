"use client";

import { useState } from "react";
import { TrashIcon } from "./icons";

/**
 * A trash button that asks once before removing: "Remove" / "Cancel", with the pending state and
 * the server's error next to it. `label` names the thing for screen readers ("Remove model X").
 */
export function ConfirmRemove({
  label,
  confirmText = "Remove",
  pendingText = "Removing…",
  pending,
  error,
  onConfirm,
}: {
  label: string;
  confirmText?: string;
  pendingText?: string;
  pending: boolean;
  error: string | null;
  onConfirm: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming) {
    return (
      <button
        type="button"
        onClick={() => setConfirming(true)}
        aria-label={label}
        title={label}
        className="rounded p-1 text-zinc-400 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800"
      >
        <TrashIcon />
      </button>
    );
  }
  return (
    <span className="inline-flex flex-col items-end gap-1">
      <span className="inline-flex gap-1">
        <button
          type="button"
          autoFocus
          disabled={pending}
          onClick={onConfirm}
          className="rounded bg-red-600 px-2 py-0.5 text-xs font-medium text-white hover:bg-red-700 disabled:opacity-60"
        >
          {pending ? pendingText : confirmText}
        </button>
        <button
          type="button"
          onClick={() => setConfirming(false)}
          className="rounded px-2 py-0.5 text-xs text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
        >
          Cancel
        </button>
      </span>
      {error && <span className="max-w-48 text-xs text-red-600 dark:text-red-400">{error}</span>}
    </span>
  );
}
