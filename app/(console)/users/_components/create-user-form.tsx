"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import type { Role } from "@/app/_lib/session";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, FormSuccess, Panel, inputClass, primaryButtonClass } from "../../models/_components/panel";
import { RoleSelect } from "./role-select";

const EMPTY = { email: "", name: "", password: "", role: "viewer" as Role };

export function CreateUserForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [form, setForm] = useState(EMPTY);
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: () => {
        setForm(EMPTY);
        return queryClient.invalidateQueries(trpc.users.list.queryFilter());
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (create.isPending) return;
    create.mutate({ email: form.email, password: form.password, role: form.role, ...(form.name.trim() ? { name: form.name } : {}) });
  };
  const label = "mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400";

  return (
    <Panel title="Add a user" description="They sign in with this email and password; tell them the password and let them change it with you.">
      <form onSubmit={submit} className="grid gap-2 sm:grid-cols-2" data-testid="create-user-form">
        <div>
          <label htmlFor={`${id}-email`} className={label}>Email</label>
          <input id={`${id}-email`} type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} className={inputClass} autoComplete="off" />
        </div>
        <div>
          <label htmlFor={`${id}-name`} className={label}>Name <span className="font-normal text-zinc-400">(optional)</span></label>
          <input id={`${id}-name`} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} className={inputClass} maxLength={100} />
        </div>
        <div>
          <label htmlFor={`${id}-password`} className={label}>Password</label>
          <input id={`${id}-password`} type="password" required minLength={10} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} className={inputClass} autoComplete="new-password" aria-describedby={`${id}-password-hint`} />
          <p id={`${id}-password-hint`} className="mt-1 text-xs text-zinc-500">At least 10 characters.</p>
        </div>
        <div className="flex items-end gap-2">
          <div className="flex-1">
            <label htmlFor={`${id}-role`} className={label}>Role</label>
            <RoleSelect id={`${id}-role`} value={form.role} onChange={(role) => setForm({ ...form, role })} />
          </div>
          <button type="submit" disabled={create.isPending} className={primaryButtonClass}>
            {create.isPending ? "Adding…" : "Add user"}
          </button>
        </div>
        <div className="sm:col-span-2">
          {create.isError && <FormError message={errorMessage(create.error)} />}
          {create.isSuccess && <FormSuccess message={`Added ${create.data.email}.`} />}
        </div>
      </form>
    </Panel>
  );
}
