"use client";

import { useSyncExternalStore } from "react";

/** This console's own origin (the host sites load widget.js from); empty during server rendering. */
export function useOrigin(): string {
  return useSyncExternalStore(
    () => () => {},
    () => window.location.origin,
    () => "",
  );
}
