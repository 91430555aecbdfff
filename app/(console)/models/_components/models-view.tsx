"use client";

import { useSession } from "@/app/_lib/session";
import { AddLocalForm } from "./add-local-form";
import { DownloadForm } from "./download-form";
import { ModelsTable } from "./models-table";
import { UploadModelForm } from "./upload-model-form";
import { NodesPanel } from "./nodes-panel";

export function ModelsView() {
  const { can } = useSession();
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <header>
          <h1 className="text-xl font-semibold tracking-tight">Models</h1>
          <p className="mt-1 text-sm text-zinc-500">
            GGUF models available to your assistants. Add a file on the server, upload one from your computer, or download one from Hugging Face.
          </p>
        </header>
        {can("admin") ? (
          <div className="mt-6 grid gap-4 lg:grid-cols-2">
            <AddLocalForm />
            <DownloadForm />
            <UploadModelForm />
          </div>
        ) : (
          <p className="mt-6 text-sm text-zinc-500">Only admins can add or remove models.</p>
        )}
        <ModelsTable />
        <NodesPanel />
      </div>
    </div>
  );
}
