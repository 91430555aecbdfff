"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { isAbortError } from "@/app/_lib/format";
import { isActiveStatus } from "@/app/_lib/studio-format";
import { applyWatchEvent, mergeSnapshot, type LiveRun } from "@/app/_lib/studio-live";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";

const RECONNECT_MS = 2000;
const MAX_RECONNECTS = 30;

/**
 * The run as the page shows it: `runs.get` for the full record (polled slowly while active, for the
 * log) with `runs.watch` events folded in as they arrive, so the bar and the chart move live.
 * The stream reconnects after a network hiccup; it ends by itself when the run ends.
 */
export function useLiveRun(id: string) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const run = useQuery(
    trpc.studio.runs.get.queryOptions(
      { id },
      { refetchInterval: (q) => (q.state.data && isActiveStatus(q.state.data.status) ? 4000 : false) },
    ),
  );
  const [live, setLive] = useState<LiveRun | null>(null);
  const [streaming, setStreaming] = useState(false);

  useEffect(() => {
    if (run.data) setLive((l) => mergeSnapshot(l, run.data));
  }, [run.data]);

  const active = run.data ? isActiveStatus(run.data.status) : false;

  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    const refresh = () => {
      void queryClient.invalidateQueries(trpc.studio.runs.get.queryFilter({ id }));
      void queryClient.invalidateQueries(trpc.studio.runs.list.queryFilter());
      void queryClient.invalidateQueries(trpc.studio.versions.list.queryFilter());
    };
    void (async () => {
      for (let attempt = 0; attempt < MAX_RECONNECTS && !controller.signal.aborted; attempt++) {
        try {
          setStreaming(true);
          const stream = await client.studio.runs.watch.mutate({ id }, { signal: controller.signal });
          for await (const event of stream) {
            setLive((l) => (l ? applyWatchEvent(l, event) : l));
            if (event.type === "status" || event.type === "done") refresh();
          }
          break;
        } catch (err) {
          if (isAbortError(err, controller.signal)) return;
          await new Promise((r) => setTimeout(r, RECONNECT_MS));
        } finally {
          setStreaming(false);
        }
      }
      if (!controller.signal.aborted) refresh();
    })();
    return () => controller.abort();
  }, [active, id, client, queryClient, trpc]);

  return { run, live, streaming };
}
