"use client";

import Link from "next/link";
import { PlusIcon } from "@/app/_components/icons";
import { DatasetsList } from "./datasets-list";
import { RunsList } from "./runs-list";
import { Section } from "./ui";
import { VersionsPanel } from "./versions-panel";

export function StudioOverview() {
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <header className="flex flex-wrap items-start justify-between gap-3">
          <div>
            <h1 className="text-xl font-semibold tracking-tight">Studio</h1>
            <p className="mt-1 max-w-2xl text-sm text-zinc-500">
              Teach a model your domain with your own documents or Q&amp;A, see what it will cost before you start, then compare
              it with the current one and switch your assistant over — or back — in one click.
            </p>
          </div>
          <Link
            href="/studio/new"
            data-testid="new-training"
            className="inline-flex items-center gap-1.5 rounded-lg bg-accent-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-700"
          >
            <PlusIcon /> New training
          </Link>
        </header>
        <Section title="Training runs">
          <RunsList />
        </Section>
        <Section title="Model versions">
          <VersionsPanel />
        </Section>
        <Section title="Datasets">
          <DatasetsList />
        </Section>
      </div>
    </div>
  );
}
