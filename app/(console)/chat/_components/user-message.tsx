"use client";

import { useState } from "react";
import { CopyMessageButton } from "@/app/_components/copy-message";
import { PencilIcon } from "@/app/_components/icons";
import { MAX_MESSAGE_CHARS, type Message } from "@/app/_lib/types";

interface Props {
  message: Message;
  /** Absent while a reply streams or for not-yet-persisted messages. */
  onEdit?: (content: string) => void;
}

export function UserMessage({ message, onEdit }: Props) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);

  if (editing && onEdit) {
    const trimmed = draft.trim();
    const valid = trimmed.length > 0 && draft.length <= MAX_MESSAGE_CHARS;
    const save = () => {
      if (!valid) return;
      setEditing(false);
      onEdit(trimmed);
    };
    return (
      <div data-testid="message-user" data-message-id={message.id} className="ml-auto w-full max-w-[85%]">
        <label className="sr-only" htmlFor={`edit-${message.id}`}>
          Edit message
        </label>
        <textarea
          id={`edit-${message.id}`}
          data-testid="edit-input"
          autoFocus
          value={draft}
          rows={Math.min(10, Math.max(2, draft.split("\n").length))}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              save();
            } else if (e.key === "Escape") {
              setEditing(false);
            }
          }}
          className="block w-full resize-y rounded-xl border border-accent-500 bg-white px-3 py-2 text-[15px] leading-6 ring-4 ring-accent-500/10 focus:outline-none dark:bg-zinc-900"
        />
        <div className="mt-2 flex justify-end gap-2">
          <button
            type="button"
            onClick={() => {
              setDraft(message.content);
              setEditing(false);
            }}
            className="rounded-md px-2.5 py-1 text-sm text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
          >
            Cancel
          </button>
          <button
            type="button"
            data-testid="edit-submit"
            disabled={!valid}
            onClick={save}
            className="rounded-md bg-accent-600 px-2.5 py-1 text-sm font-medium text-white hover:bg-accent-700 disabled:opacity-50"
          >
            Save & resend
          </button>
        </div>
      </div>
    );
  }

  return (
    <div data-testid="message-user" data-message-id={message.id} className="group flex items-center justify-end gap-2">
      <CopyMessageButton text={message.content} className="shrink-0 opacity-0 pointer-coarse:opacity-100 group-hover:opacity-100 focus-visible:opacity-100 [&>span]:sr-only" />
      {onEdit && (
        <button
          type="button"
          data-testid="edit-button"
          onClick={() => {
            setDraft(message.content);
            setEditing(true);
          }}
          aria-label="Edit message"
          title="Edit and resend"
          className="shrink-0 rounded-md p-1.5 text-zinc-400 opacity-0 pointer-coarse:opacity-100 hover:bg-zinc-100 hover:text-zinc-900 group-hover:opacity-100 focus-visible:opacity-100 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
        >
          <PencilIcon width={14} height={14} />
        </button>
      )}
      <div className="max-w-[85%] whitespace-pre-wrap break-words rounded-2xl rounded-br-md bg-zinc-100 px-4 py-2.5 text-[15px] leading-6 dark:bg-zinc-800">
        {message.content}
      </div>
    </div>
  );
}
