"use client";

import type { ReactNode } from "react";
import { useTheme, type Theme } from "@/app/_lib/theme";
import { MoonIcon, SunIcon } from "./icons";

const OPTIONS: { value: Theme; label: string; icon: ReactNode }[] = [
  { value: "light", label: "Light", icon: <SunIcon width={14} height={14} /> },
  { value: "dark", label: "Dark", icon: <MoonIcon width={14} height={14} /> },
  {
    value: "system",
    label: "System",
    icon: (
      <svg viewBox="0 0 24 24" width={14} height={14} fill="none" stroke="currentColor" strokeWidth={1.8} aria-hidden="true">
        <rect x="3" y="4" width="18" height="12" rx="2" />
        <path d="M8 20h8M12 16v4" />
      </svg>
    ),
  },
];

/** Light / dark / system, as a three-way switch (radio group); the choice is remembered in this browser. */
export function ThemeToggle() {
  const [theme, setTheme] = useTheme();
  return (
    <div role="radiogroup" aria-label="Theme" data-testid="theme-toggle" className="inline-flex rounded-lg border border-zinc-200 p-0.5 dark:border-zinc-700">
      {OPTIONS.map((o) => (
        <button
          key={o.value}
          type="button"
          role="radio"
          aria-checked={theme === o.value}
          aria-label={`${o.label} theme`}
          title={`${o.label} theme`}
          data-testid={`theme-${o.value}`}
          onClick={() => setTheme(o.value)}
          className={`grid size-7 place-items-center rounded-md text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100 ${
            theme === o.value ? "bg-white text-zinc-900 shadow-xs dark:bg-zinc-800 dark:text-zinc-100" : ""
          }`}
        >
          {o.icon}
        </button>
      ))}
    </div>
  );
}
