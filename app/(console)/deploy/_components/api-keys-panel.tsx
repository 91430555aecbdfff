"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";
import { CodeBlock } from "./copy-button";
import { useOrigin } from "./use-origin";

type Key = RouterOutputs["deploy"]["get"]["keys"][number];
const when = (ms: number | null) => (ms ? new Date(ms).toLocaleString() : "—");

/** Keys for the OpenAI-compatible API: shown once at creation, stored hashed, revocable. */
export function ApiKeysPanel({ assistantId, publicId, keys }: { assistantId: string; publicId: string; keys: Key[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const host = useOrigin() || "https://HOST";
  const [name, setName] = useState("");
  const refresh = () => queryClient.invalidateQueries(trpc.deploy.get.queryFilter());
  const create = useMutation(trpc.deploy.createKey.mutationOptions({ onSuccess: () => (setName(""), refresh()) }));
  const revoke = useMutation(trpc.deploy.revokeKey.mutationOptions({ onSuccess: refresh }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate({ assistantId, name: name.trim() });
  };
  const example = `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${host}/v1", apiKey: process.env.ATELIER_API_KEY });
const answer = await client.chat.completions.create({
  model: "${publicId}",
  messages: [{ role: "user", content: "Hello!" }],
});`;

  return (
    <Panel title="API keys" description="For the OpenAI-compatible API (GET /v1/models, POST /v1/chat/completions). Each key can use this assistant only.">
      <form onSubmit={submit} className="flex items-end gap-2">
        <div className="flex-1">
          <label htmlFor={`${id}-name`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
            Key name
          </label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. backend" className={inputClass} maxLength={80} />
        </div>
        <button type="submit" className={primaryButtonClass} disabled={!name.trim() || create.isPending}>
          Create key
        </button>
      </form>
      {create.isError && <FormError message={errorMessage(create.error)} />}
      {create.data && (
        <div className="mt-3 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950/40" role="status">
          <p className="mb-2 font-medium">Copy this key now; it won’t be shown again.</p>
          <CodeBlock code={create.data.key} testId="new-api-key" />
        </div>
      )}
      <table className="mt-3 w-full text-left text-sm">
        <thead className="text-xs text-zinc-500">
          <tr>
            <th className="py-1 font-medium">Name</th>
            <th className="py-1 font-medium">Key</th>
            <th className="py-1 font-medium">Created</th>
            <th className="py-1 font-medium">Last used</th>
            <th className="py-1" />
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 && (
            <tr>
              <td colSpan={5} className="py-2 text-zinc-500">
                No keys yet.
              </td>
            </tr>
          )}
          {keys.map((k) => (
            <tr key={k.id} className="border-t border-zinc-200 dark:border-zinc-800">
              <td className="py-1.5">{k.name}</td>
              <td className="py-1.5 font-mono text-xs">{k.prefix}…</td>
              <td className="py-1.5 text-xs">{when(k.createdAt)}</td>
              <td className="py-1.5 text-xs">{when(k.lastUsedAt)}</td>
              <td className="py-1.5 text-right">
                {k.revokedAt ? (
                  <span className="text-xs text-zinc-500">revoked</span>
                ) : (
                  <button
                    type="button"
                    className={secondaryButtonClass}
                    onClick={() => confirm(`Revoke ${k.name}? Requests with it fail at once.`) && revoke.mutate({ assistantId, keyId: k.id })}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoke.isError && <FormError message={errorMessage(revoke.error)} />}
      <div className="mt-3">
        <CodeBlock code={example} />
      </div>
    </Panel>
  );
}
