"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import Link from "next/link";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "../../models/_components/panel";
import { ApiKeysPanel } from "./api-keys-panel";
import { EmbedPanel } from "./embed-panel";
import { SettingsForm } from "./settings-form";
import { WidgetConversations } from "./widget-conversations";

export function DeployView({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const data = useQuery(trpc.deploy.get.queryOptions({ assistantId }));
  // The first visit creates the (disabled) deployment: a write, so a mutation, not the query.
  const open = useMutation(trpc.deploy.open.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.deploy.get.queryFilter({ assistantId })) }));
  const missing = data.data !== undefined && data.data.deployment === null;
  const { mutate: openDeployment, isIdle } = open;
  useEffect(() => {
    if (missing && isIdle) openDeployment({ assistantId });
  }, [missing, isIdle, openDeployment, assistantId]);
  const deployment = data.data?.deployment ?? null;
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-5xl px-4 py-8 sm:px-6">
        <Link href="/deploy" className="text-xs text-zinc-500 hover:underline">
          ← All assistants
        </Link>
        <h1 className="mt-1 text-xl font-semibold tracking-tight">Deploy {data.data?.assistant.name ?? ""}</h1>
        {data.isError && <FormError message={data.error.message} />}
        {open.isError && <FormError message={open.error.message} />}
        {(data.isPending || (missing && !open.isError)) && <p className="mt-6 text-sm text-zinc-400">Loading…</p>}
        {data.data && deployment && (
          <div className="mt-6 space-y-4">
            <SettingsForm key={assistantId} assistant={data.data.assistant} deployment={deployment} />
            <EmbedPanel assistantId={assistantId} deployment={deployment} />
            <ApiKeysPanel assistantId={assistantId} publicId={deployment.publicId} keys={data.data.keys} />
            <WidgetConversations assistantId={assistantId} />
          </div>
        )}
      </div>
    </div>
  );
}
