"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, inputClass, secondaryButtonClass } from "../../models/_components/panel";
import { CreateUserForm } from "./create-user-form";
import { RoleSelect } from "./role-select";

type User = RouterOutputs["users"]["list"][number];

export function UsersView() {
  const trpc = useTRPC();
  const users = useQuery(trpc.users.list.queryOptions());
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-4xl space-y-4 p-4 md:p-6">
        <div>
          <h1 className="text-lg font-semibold">Users</h1>
          <p className="text-sm text-zinc-500">Who may use this Atelier, and with which role. Every change is recorded in the audit log.</p>
        </div>
        {users.isError && <FormError message={errorMessage(users.error)} />}
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900/50" data-testid="users-list">
          {users.data?.map((u) => <UserRow key={u.id} user={u} />)}
          {users.isPending && <li className="p-4 text-sm text-zinc-500">Loading…</li>}
        </ul>
        <CreateUserForm />
      </div>
    </div>
  );
}

function UserRow({ user }: { user: User }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { user: me } = useSession();
  const [resetting, setResetting] = useState(false);
  const [password, setPassword] = useState("");
  const refresh = () => queryClient.invalidateQueries(trpc.users.list.queryFilter());
  const setRole = useMutation(trpc.users.setRole.mutationOptions({ onSettled: refresh }));
  const setDisabled = useMutation(trpc.users.setDisabled.mutationOptions({ onSettled: refresh }));
  const reset = useMutation(trpc.users.resetPassword.mutationOptions({ onSuccess: () => (setResetting(false), setPassword("")) }));
  const unlock = useMutation(trpc.users.unlock.mutationOptions({ onSettled: refresh }));
  const error = setRole.error ?? setDisabled.error ?? reset.error ?? unlock.error;
  const disabled = !!user.disabledAt;

  const submitReset = (e: FormEvent) => {
    e.preventDefault();
    if (!reset.isPending) reset.mutate({ id: user.id, password });
  };

  return (
    <li className="p-3" data-testid="user-row" data-email={user.email}>
      <div className="flex flex-wrap items-center gap-3">
        <div className="min-w-0 flex-1">
          <p className={`truncate text-sm font-medium ${disabled ? "text-zinc-400 line-through" : ""}`}>
            {user.name} {user.id === me?.id && <span className="text-xs font-normal text-zinc-500">(you)</span>}
          </p>
          <p className="truncate text-xs text-zinc-500">
            {user.email}
            {disabled && " · disabled"}
            {user.signInLocked && (
              <span className="text-amber-700 dark:text-amber-400" data-testid="user-locked">
                {" "}
                · sign-in throttled after failed attempts from other addresses
                {user.lockedForS > 0 ? ` (next try in ${user.lockedForS} s)` : ""}
              </span>
            )}
          </p>
        </div>
        <div className="w-28">
          <RoleSelect value={user.role} disabled={setRole.isPending} onChange={(role) => setRole.mutate({ id: user.id, role })} />
        </div>
        {user.signInLocked && (
          <button type="button" className={secondaryButtonClass} disabled={unlock.isPending} onClick={() => unlock.mutate({ id: user.id })} data-testid="unlock-user">
            Unlock
          </button>
        )}
        <button type="button" className={secondaryButtonClass} onClick={() => setResetting((r) => !r)}>
          Reset password
        </button>
        <button type="button" className={secondaryButtonClass} disabled={setDisabled.isPending} onClick={() => setDisabled.mutate({ id: user.id, disabled: !disabled })} data-testid="toggle-disabled">
          {disabled ? "Enable" : "Disable"}
        </button>
      </div>
      {resetting && (
        <form onSubmit={submitReset} className="mt-2 flex gap-2">
          <input type="password" required minLength={10} placeholder="New password (at least 10 characters)" value={password} onChange={(e) => setPassword(e.target.value)} className={inputClass} autoComplete="new-password" aria-label={`New password for ${user.email}`} />
          <button type="submit" className={secondaryButtonClass} disabled={reset.isPending}>
            {reset.isPending ? "Saving…" : "Set"}
          </button>
        </form>
      )}
      {reset.isSuccess && !resetting && <p className="mt-1 text-xs text-emerald-700 dark:text-emerald-400">Password changed; their other sessions were signed out.</p>}
      {error && <FormError message={errorMessage(error)} />}
    </li>
  );
}
