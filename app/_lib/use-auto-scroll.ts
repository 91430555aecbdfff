import { useCallback, useLayoutEffect, useRef, useState } from "react";

const THRESHOLD_PX = 80;

/**
 * Keeps a scroll container pinned to the bottom while content grows, unless the user scrolled
 * up to read; pinning resumes when they scroll back down or call `scrollToBottom`.
 */
export function useAutoScroll<T extends HTMLElement>(contentVersion: unknown) {
  const ref = useRef<T>(null);
  const pinned = useRef(true);
  const [atBottom, setAtBottom] = useState(true);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < THRESHOLD_PX;
    pinned.current = near;
    setAtBottom(near);
  }, []);

  const scrollToBottom = useCallback((behavior: ScrollBehavior = "auto") => {
    pinned.current = true;
    setAtBottom(true);
    const el = ref.current;
    if (el) el.scrollTo({ top: el.scrollHeight, behavior });
  }, []);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [contentVersion]);

  return { ref, onScroll, atBottom, scrollToBottom };
}
