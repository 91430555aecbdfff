"use client";

import { useMutation } from "@tanstack/react-query";
import { errorMessage } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC } from "@/app/_lib/trpc";

/** Who is signed in, with which role, and a way out. */
export function UserMenu() {
  const { user } = useSession();
  const trpc = useTRPC();
  const logout = useMutation(trpc.auth.logout.mutationOptions({ onSuccess: () => window.location.assign("/login") }));
  if (!user) return null;
  return (
    <div className="flex items-center gap-2" data-testid="user-menu">
      <div className="min-w-0 flex-1">
        <p className="truncate text-sm font-medium" title={user.email} data-testid="user-name">
          {user.name}
        </p>
        <p className="text-xs capitalize text-zinc-500" data-testid="user-role">
          {user.role}
        </p>
      </div>
      <button
        type="button"
        onClick={() => logout.mutate()}
        disabled={logout.isPending}
        title={logout.isError ? errorMessage(logout.error) : undefined}
        data-testid="sign-out"
        className="rounded-md border border-zinc-200 px-2 py-1 text-xs font-medium text-zinc-700 hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
      >
        {logout.isPending ? "Signing out…" : "Sign out"}
      </button>
    </div>
  );
}
