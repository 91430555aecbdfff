"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ComponentType, SVGProps } from "react";
import { BookIcon, ChatIcon, CubeIcon, FlaskIcon, GaugeIcon, GlobeIcon, RefreshIcon, SparklesIcon, UsersIcon } from "@/app/_components/icons";

interface NavItem {
  href: string;
  label: string;
  icon: ComponentType<SVGProps<SVGSVGElement>>;
}

const NAV: NavItem[] = [
  { href: "/chat", label: "Chat", icon: ChatIcon },
  { href: "/assistants", label: "Assistants", icon: SparklesIcon },
  { href: "/knowledge", label: "Knowledge", icon: BookIcon },
  { href: "/studio", label: "Studio", icon: FlaskIcon },
  { href: "/evals", label: "Evaluate", icon: GaugeIcon },
  { href: "/improve", label: "Improve", icon: RefreshIcon },
  { href: "/deploy", label: "Deploy", icon: GlobeIcon },
  { href: "/models", label: "Models", icon: CubeIcon },
  { href: "/users", label: "Users", icon: UsersIcon },
];

export function NavLinks() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main" className="px-3">
      <ul className="space-y-0.5">
        {NAV.map(({ href, label, icon: Icon }) => {
          const active = pathname === href || pathname.startsWith(`${href}/`);
          return (
            <li key={href}>
              <Link
                href={href}
                aria-current={active ? "page" : undefined}
                className={`flex items-center gap-2.5 rounded-md px-2.5 py-1.5 text-sm ${
                  active
                    ? "bg-zinc-200/70 font-medium text-zinc-900 dark:bg-zinc-800 dark:text-zinc-50"
                    : "text-zinc-600 hover:bg-zinc-200/50 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800/60 dark:hover:text-zinc-100"
                }`}
              >
                <Icon className="shrink-0" />
                {label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
