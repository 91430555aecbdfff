"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { CloseIcon } from "@/app/_components/icons";

/*
 * Console-wide keyboard shortcuts. They act on what is on screen (the composer, the stop button)
 * by their test ids, so pages need not register anything:
 *   Ctrl/⌘ + Shift + O  new chat          Shift + Esc  focus the message box
 *   Esc (while an answer streams)  stop   ?            this list (outside text fields)
 */

export const SHORTCUTS = [
  { keys: ["Ctrl/⌘", "Shift", "O"], what: "New chat" },
  { keys: ["Shift", "Esc"], what: "Focus the message box" },
  { keys: ["/"], what: "Focus the message box (outside text fields)" },
  { keys: ["Esc"], what: "Stop the answer being written" },
  { keys: ["?"], what: "Show these shortcuts" },
] as const;

const typing = (el: EventTarget | null) =>
  el instanceof HTMLElement && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

function focusComposer(): boolean {
  const box = document.querySelector<HTMLTextAreaElement>('[data-testid="chat-input"]');
  if (!box) return false;
  box.focus();
  return true;
}

export function KeyboardShortcuts() {
  const router = useRouter();
  const [help, setHelp] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.shiftKey && e.key.toLowerCase() === "o") {
        e.preventDefault();
        router.push("/chat");
        // the new-chat page keeps the composer: focus it once it is there
        setTimeout(focusComposer, 50);
        return;
      }
      if (e.shiftKey && e.key === "Escape") {
        if (focusComposer()) e.preventDefault();
        return;
      }
      if (e.key === "Escape") {
        const stop = document.querySelector<HTMLButtonElement>('[data-testid="stop-button"]');
        if (stop && !document.querySelector('[role="dialog"]')) {
          e.preventDefault();
          stop.click();
        }
        return;
      }
      if (typing(e.target) || mod || e.altKey) return;
      if (e.key === "/") {
        if (focusComposer()) e.preventDefault();
      } else if (e.key === "?") {
        e.preventDefault();
        setHelp(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [router]);

  if (!help) return null;
  return (
    <div className="fixed inset-0 z-50 grid place-items-center bg-black/30 p-4" onClick={() => setHelp(false)}>
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="shortcuts-title"
        data-testid="shortcuts-dialog"
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.key === "Escape" && setHelp(false)}
        className="w-full max-w-sm rounded-xl border border-zinc-200 bg-white p-5 shadow-xl dark:border-zinc-800 dark:bg-zinc-900"
      >
        <div className="flex items-center justify-between">
          <h2 id="shortcuts-title" className="text-sm font-semibold">
            Keyboard shortcuts
          </h2>
          <button type="button" autoFocus aria-label="Close" onClick={() => setHelp(false)} className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            <CloseIcon width={16} height={16} />
          </button>
        </div>
        <dl className="mt-3 space-y-2 text-sm">
          {SHORTCUTS.map((s) => (
            <div key={s.what} className="flex items-center justify-between gap-4">
              <dt className="text-zinc-600 dark:text-zinc-400">{s.what}</dt>
              <dd className="flex gap-1">
                {s.keys.map((k) => (
                  <kbd key={k} className="rounded border border-zinc-300 bg-zinc-50 px-1.5 py-0.5 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-800">
                    {k}
                  </kbd>
                ))}
              </dd>
            </div>
          ))}
        </dl>
      </div>
    </div>
  );
}
