"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "../../models/_components/panel";
import { ApiKeysPanel } from "./api-keys-panel";
import { EmbedPanel } from "./embed-panel";
import { SettingsForm } from "./settings-form";
import { WidgetConversations } from "./widget-conversations";

export function DeployView({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const data = useQuery(trpc.deploy.get.queryOptions({ assistantId }));
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-5xl px-4 py-8 sm:px-6">
        <Link href="/deploy" className="text-xs text-zinc-500 hover:underline">
          ← All assistants
        </Link>
        <h1 className="mt-1 text-xl font-semibold tracking-tight">Deploy {data.data?.assistant.name ?? ""}</h1>
        {data.isError && <FormError message={data.error.message} />}
        {data.isPending && <p className="mt-6 text-sm text-zinc-400">Loading…</p>}
        {data.data && (
          <div className="mt-6 space-y-4">
            <SettingsForm key={assistantId} assistant={data.data.assistant} deployment={data.data.deployment} />
            <EmbedPanel assistantId={assistantId} deployment={data.data.deployment} />
            <ApiKeysPanel assistantId={assistantId} publicId={data.data.deployment.publicId} keys={data.data.keys} />
            <WidgetConversations assistantId={assistantId} />
          </div>
        )}
      </div>
    </div>
  );
}
