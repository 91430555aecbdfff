"use client";

import { useEffect, useId, useRef, type FormEvent, type KeyboardEvent } from "react";
import { ArrowUpIcon, StopIcon } from "@/app/_components/icons";
import { MAX_MESSAGE_CHARS } from "@/app/_lib/types";

const nf = new Intl.NumberFormat("en-US");

interface ComposerProps {
  value: string;
  onChange: (value: string) => void;
  onSend: (content: string) => void;
  onStop?: () => void;
  /** A reply is streaming: input is locked and Send turns into Stop. */
  streaming: boolean;
  /** Work before streaming (creating the chat, waiting for the first event). */
  busy?: boolean;
  placeholder?: string;
  autoFocus?: boolean;
}

export function Composer({ value, onChange, onSend, onStop, streaming, busy = false, placeholder, autoFocus }: ComposerProps) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  const locked = streaming || busy;
  const tooLong = value.length > MAX_MESSAGE_CHARS;
  const canSend = !locked && value.trim().length > 0 && !tooLong;

  // Grow with the content up to a cap.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [value]);

  // Hand focus back once the reply finished.
  useEffect(() => {
    if (!locked) ref.current?.focus({ preventScroll: true });
  }, [locked]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (canSend) onSend(value.trim());
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const showCount = value.length > MAX_MESSAGE_CHARS * 0.8;

  return (
    <form onSubmit={submit} className="mx-auto w-full max-w-3xl px-4 pb-4">
      <div className="rounded-2xl border border-zinc-200 bg-white shadow-sm focus-within:border-accent-500 focus-within:ring-4 focus-within:ring-accent-500/10 dark:border-zinc-700 dark:bg-zinc-900">
        <label htmlFor={`${hintId}-input`} className="sr-only">
          Message
        </label>
        <textarea
          id={`${hintId}-input`}
          ref={ref}
          data-testid="chat-input"
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          disabled={locked}
          rows={1}
          autoFocus={autoFocus}
          placeholder={placeholder ?? "Send a message"}
          aria-describedby={hintId}
          aria-keyshortcuts="Shift+Escape"
          aria-invalid={tooLong || undefined}
          className="block max-h-60 w-full resize-none bg-transparent px-4 pt-3 text-[15px] leading-6 placeholder:text-zinc-400 dark:placeholder:text-zinc-500 focus:outline-none disabled:cursor-not-allowed disabled:opacity-60"
        />
        <div className="flex items-center justify-between gap-3 px-3 pb-2 pt-1">
          <p id={hintId} className={`text-xs ${tooLong ? "text-red-600 dark:text-red-400" : "text-zinc-400"}`}>
            {tooLong
              ? `Too long: ${nf.format(value.length)} / ${nf.format(MAX_MESSAGE_CHARS)} characters`
              : showCount
                ? `${nf.format(value.length)} / ${nf.format(MAX_MESSAGE_CHARS)} characters`
                : <span className="hidden sm:inline">Enter to send · Shift+Enter for a new line{streaming ? " · Esc to stop" : " · ? for shortcuts"}</span>}
          </p>
          {streaming ? (
            <button
              type="button"
              data-testid="stop-button"
              onClick={onStop}
              aria-keyshortcuts="Escape"
              title="Stop (Esc)"
              className="flex items-center gap-1.5 rounded-lg bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-zinc-700 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-zinc-300"
            >
              <StopIcon width={14} height={14} /> Stop
            </button>
          ) : (
            <button
              type="submit"
              data-testid="send-button"
              disabled={!canSend}
              aria-label="Send message"
              className="grid size-8 place-items-center rounded-lg bg-accent-600 text-white hover:bg-accent-700 disabled:bg-zinc-200 disabled:text-zinc-400 dark:disabled:bg-zinc-800 dark:disabled:text-zinc-500"
            >
              <ArrowUpIcon />
            </button>
          )}
        </div>
      </div>
    </form>
  );
}
