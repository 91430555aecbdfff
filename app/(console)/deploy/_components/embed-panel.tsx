"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, Panel, secondaryButtonClass } from "../../models/_components/panel";
import { CodeBlock } from "./copy-button";
import { useOrigin } from "./use-origin";

type Deployment = NonNullable<RouterOutputs["deploy"]["get"]["deployment"]>;

const signingExample = (host: string, publicId: string) => `// On your server (Node.js): sign the signed-in user's id for one hour.
import { createHmac } from "node:crypto";

function atelierIdentity(userId) {
  const expiry = Math.floor(Date.now() / 1000) + 3600; // Unix seconds
  const payload = \`\${userId}.\${expiry}\`;
  const signature = createHmac("sha256", process.env.ATELIER_IDENTITY_SECRET).update(payload).digest("base64url");
  return \`\${payload}.\${signature}\`;
}

// In the page: pass it with the snippet…
// <script src="${host}/widget.js" data-assistant="${publicId}" data-identity="TOKEN" async></script>
// …or later, after sign-in:
// window.Atelier.identify(token);`;

/** The snippet to paste and the identity secret for verified visitors. */
export function EmbedPanel({ assistantId, deployment: d }: { assistantId: string; deployment: Deployment }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const host = useOrigin() || "https://HOST";
  const [reveal, setReveal] = useState(false);
  const rotate = useMutation(trpc.deploy.rotateSecret.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.deploy.get.queryFilter()) }));
  const snippet = `<script src="${host}/widget.js" data-assistant="${d.publicId}" async></script>`;
  const ready = d.enabled && (d.anyOrigin || d.allowedOrigins.length > 0);

  return (
    <>
      <Panel title="Embed on your site" description="Paste this before </body> on every page that should show the chat.">
        <CodeBlock code={snippet} testId="deploy-snippet" />
        {!ready && <p className="mt-2 text-xs text-amber-700 dark:text-amber-400">The widget stays hidden until it is enabled and at least one origin is allowed.</p>}
        <p className="mt-2 text-xs text-zinc-500">
          JavaScript API: <code>Atelier.open()</code>, <code>Atelier.close()</code>, <code>Atelier.send(text)</code>, <code>Atelier.identify(token)</code>.
        </p>
      </Panel>
      <Panel title="Verified visitors" description="Optional: your backend signs the signed-in user's id so conversations are tied to real accounts.">
        <div className="flex flex-wrap items-center gap-2">
          <code className="rounded bg-zinc-100 px-2 py-1 text-xs dark:bg-zinc-800" data-testid="identity-secret">
            {reveal ? d.identitySecret : `${d.identitySecret.slice(0, 10)}${"•".repeat(20)}`}
          </code>
          <button type="button" className={secondaryButtonClass} onClick={() => setReveal((r) => !r)}>
            {reveal ? "Hide" : "Reveal"}
          </button>
          <button
            type="button"
            className={secondaryButtonClass}
            disabled={rotate.isPending}
            onClick={() => {
              if (confirm("Rotate the secret? Tokens signed with the current one stop working at once.")) rotate.mutate({ assistantId });
            }}
          >
            Rotate secret
          </button>
        </div>
        {rotate.isError && <FormError message={errorMessage(rotate.error)} />}
        <div className="mt-3">
          <CodeBlock code={signingExample(host, d.publicId)} />
        </div>
      </Panel>
    </>
  );
}
