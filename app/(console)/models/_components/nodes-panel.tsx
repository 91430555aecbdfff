"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "./panel";

// Inference nodes (server/nodes): OpenAI-compatible endpoints that serve model versions for this
// Atelier, with their live health (polled), the versions each serves, and the admin's controls.

const KIND_LABELS: Record<string, string> = {
  atelier: "Atelier node",
  "llama-server": "llama-server",
  vllm: "vLLM",
  ollama: "Ollama",
  openai: "Other OpenAI-compatible",
};

const POLL_MS = 3000;

function useNodesRefresh() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries(trpc.nodes.list.queryFilter());
}

function StatusBadge({ node }: { node: { enabled: boolean; health: { ok: boolean } | null; circuit: { state: string } } }) {
  const [label, tone] = !node.enabled
    ? ["disabled", "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400"]
    : node.circuit.state === "open"
      ? ["circuit open", "bg-red-100 text-red-800 dark:bg-red-950/50 dark:text-red-300"]
      : node.circuit.state === "half-open"
        ? ["re-probing", "bg-amber-100 text-amber-800 dark:bg-amber-950/50 dark:text-amber-300"]
        : node.health?.ok === false
          ? ["unreachable", "bg-red-100 text-red-800 dark:bg-red-950/50 dark:text-red-300"]
          : node.health
            ? ["healthy", "bg-emerald-100 text-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-300"]
            : ["not checked", "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400"];
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${tone}`}>{label}</span>;
}

export function NodesPanel() {
  const trpc = useTRPC();
  const { can } = useSession();
  const admin = can("admin");
  const nodes = useQuery({ ...trpc.nodes.list.queryOptions(), refetchInterval: POLL_MS });
  const modelList = useQuery(trpc.models.list.queryOptions());
  const refresh = useNodesRefresh();
  const [error, setError] = useState<string | null>(null);
  const onError = (e: unknown) => setError(errorMessage(e));
  const onSuccess = () => {
    setError(null);
    return refresh();
  };
  const update = useMutation(trpc.nodes.update.mutationOptions({ onSuccess, onError }));
  const remove = useMutation(trpc.nodes.remove.mutationOptions({ onSuccess, onError }));
  const check = useMutation(trpc.nodes.check.mutationOptions({ onSuccess, onError }));
  const unassign = useMutation(trpc.nodes.unassign.mutationOptions({ onSuccess, onError }));
  const setLocal = useMutation(trpc.nodes.setLocal.mutationOptions({ onSuccess, onError }));

  const list = nodes.data?.nodes ?? [];
  const modelName = (id: string) => modelList.data?.find((m) => m.id === id)?.name ?? id;
  const routedModels = [...new Set(list.flatMap((n) => n.routes.map((r) => r.modelId)))];

  return (
    <section aria-label="Inference nodes" className="mt-8" data-testid="nodes-panel">
      <h2 className="text-base font-semibold">Inference nodes</h2>
      <p className="mt-1 text-sm text-zinc-500">
        Serve model versions from other machines: another Atelier started with <code className="font-mono">npx atelier node</code>, llama-server, vLLM,
        Ollama or any OpenAI-compatible endpoint. Turns go to the least-loaded healthy node, stay on it per conversation, are retried elsewhere if a node
        fails before the first token, and fall back to this server when the version is also served here.
      </p>
      {error ? <FormError message={error} /> : null}
      {admin ? (
        <div className="mt-4 grid gap-4 lg:grid-cols-2">
          <RegisterNodeForm />
          <AssignModelForm nodes={list} models={modelList.data ?? []} />
        </div>
      ) : null}
      <div className="mt-4 space-y-3">
        {nodes.isLoading ? <p className="text-sm text-zinc-500">Loading nodes…</p> : null}
        {!nodes.isLoading && list.length === 0 ? <p className="text-sm text-zinc-500">No inference nodes yet: every model is served by this server.</p> : null}
        {list.map((node) => (
          <article key={node.id} className="rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900/50" data-testid="node-card">
            <div className="flex flex-wrap items-center gap-2">
              <h3 className="text-sm font-semibold">{node.name}</h3>
              <StatusBadge node={node} />
              <span className="text-xs text-zinc-500">{KIND_LABELS[node.kind] ?? node.kind}</span>
              <span className="font-mono text-xs text-zinc-500">{node.url}</span>
              {admin ? (
                <span className="ml-auto flex gap-2">
                  <button type="button" className={secondaryButtonClass} onClick={() => check.mutate({ id: node.id })} disabled={check.isPending}>
                    Check now
                  </button>
                  <button type="button" className={secondaryButtonClass} onClick={() => update.mutate({ id: node.id, enabled: !node.enabled })}>
                    {node.enabled ? "Disable" : "Enable"}
                  </button>
                  <button type="button" className={secondaryButtonClass} onClick={() => remove.mutate({ id: node.id })}>
                    Remove
                  </button>
                </span>
              ) : null}
            </div>
            <dl className="mt-2 grid grid-cols-2 gap-x-4 gap-y-1 text-xs sm:grid-cols-4">
              <div>
                <dt className="text-zinc-500">Latency</dt>
                <dd>{node.health?.latencyMs != null ? `${node.health.latencyMs} ms` : "—"}</dd>
              </div>
              <div>
                <dt className="text-zinc-500">Slots busy</dt>
                <dd>{node.health?.slots ? `${node.health.slots.busy} / ${node.health.slots.total}` : "not reported"}</dd>
              </div>
              <div>
                <dt className="text-zinc-500">In flight from here</dt>
                <dd>{node.circuit.outstanding}</dd>
              </div>
              <div>
                <dt className="text-zinc-500">Checked</dt>
                <dd>{node.health ? new Date(node.health.checkedAt).toLocaleTimeString() : "—"}</dd>
              </div>
            </dl>
            {node.health?.error || node.circuit.lastError ? <p className="mt-2 text-xs text-red-700 dark:text-red-400">{node.health?.error ?? node.circuit.lastError}</p> : null}
            <p className="mt-2 text-xs text-zinc-500">Serves: {node.health?.models.length ? node.health.models.join(", ") : "—"}</p>
            {node.routes.length ? (
              <ul className="mt-2 space-y-1 text-xs">
                {node.routes.map((r) => (
                  <li key={r.modelId} className="flex flex-wrap items-center gap-2">
                    <span className="font-medium">{r.modelName}</span>
                    <span className="text-zinc-500">as</span>
                    <code className="font-mono">{r.remoteName}</code>
                    <span className={r.state === "ready" ? "text-emerald-700 dark:text-emerald-400" : r.state === "error" ? "text-red-700 dark:text-red-400" : "text-amber-700 dark:text-amber-400"}>
                      {r.state}
                    </span>
                    {r.detail ? <span className="text-zinc-500">· {r.detail}</span> : null}
                    {admin ? (
                      <button type="button" className="ml-auto text-zinc-500 underline hover:text-zinc-800 dark:hover:text-zinc-200" onClick={() => unassign.mutate({ nodeId: node.id, modelId: r.modelId })}>
                        Stop serving here
                      </button>
                    ) : null}
                  </li>
                ))}
              </ul>
            ) : null}
          </article>
        ))}
      </div>
      {routedModels.length ? (
        <div className="mt-4 rounded-xl border border-zinc-200 p-4 text-sm dark:border-zinc-800">
          <h3 className="text-sm font-semibold">Also served by this server</h3>
          <p className="mt-0.5 text-xs text-zinc-500">On: this server answers when no node can. Off: only the nodes answer (a turn fails when none is healthy).</p>
          <ul className="mt-2 space-y-1">
            {routedModels.map((id) => (
              <li key={id}>
                <label className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    checked={nodes.data?.localServing[id] ?? true}
                    disabled={!admin}
                    onChange={(e) => setLocal.mutate({ modelId: id, local: e.target.checked })}
                  />
                  {modelName(id)}
                </label>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

function RegisterNodeForm() {
  const trpc = useTRPC();
  const id = useId();
  const refresh = useNodesRefresh();
  const [form, setForm] = useState({ name: "", url: "", kind: "atelier", apiKey: "" });
  const register = useMutation(
    trpc.nodes.register.mutationOptions({
      onSuccess: () => {
        setForm({ name: "", url: "", kind: "atelier", apiKey: "" });
        return refresh();
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (register.isPending) return;
    register.mutate({ name: form.name, url: form.url, kind: form.kind as "atelier", apiKey: form.apiKey || null });
  };
  const field = (key: keyof typeof form, label: string, props: Record<string, unknown> = {}) => (
    <div>
      <label htmlFor={`${id}-${key}`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
        {label}
      </label>
      <input id={`${id}-${key}`} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} className={inputClass} autoComplete="off" spellCheck={false} {...props} />
    </div>
  );
  return (
    <Panel title="Register a node" description="Atelier checks the endpoint first: it must answer /v1/models with the key.">
      <form onSubmit={submit} className="space-y-2" data-testid="register-node-form">
        {field("url", "URL (without /v1)", { placeholder: "http://10.0.0.5:8090", required: true })}
        <div className="grid grid-cols-2 gap-2">
          <div>
            <label htmlFor={`${id}-kind`} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Kind
            </label>
            <select id={`${id}-kind`} value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value })} className={inputClass}>
              {Object.entries(KIND_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          {field("name", "Name (optional)", { placeholder: "gpu-box" })}
        </div>
        {field("apiKey", form.kind === "atelier" ? "Node token" : "API key (optional)", { type: "password" })}
        <button type="submit" className={primaryButtonClass} disabled={register.isPending}>
          {register.isPending ? "Checking…" : "Register"}
        </button>
        {register.error ? <FormError message={errorMessage(register.error)} /> : null}
      </form>
    </Panel>
  );
}

function AssignModelForm({ nodes, models }: { nodes: Array<{ id: string; name: string; health: { models: string[] } | null }>; models: Array<{ id: string; name: string; status: string }> }) {
  const trpc = useTRPC();
  const id = useId();
  const refresh = useNodesRefresh();
  const [form, setForm] = useState({ nodeId: "", modelId: "", remoteName: "" });
  const assign = useMutation(trpc.nodes.assign.mutationOptions({ onSuccess: () => refresh() }));
  const node = nodes.find((n) => n.id === form.nodeId);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!form.nodeId || !form.modelId || !form.remoteName.trim() || assign.isPending) return;
    assign.mutate(form);
  };
  return (
    <Panel title="Serve a model from a node" description="Name it as the node does; Atelier checks it is the same model (sha256 on Atelier nodes), or has an Atelier node download it.">
      <form onSubmit={submit} className="space-y-2" data-testid="assign-model-form">
        <div className="grid grid-cols-2 gap-2">
          <select aria-label="Node" value={form.nodeId} onChange={(e) => setForm({ ...form, nodeId: e.target.value })} className={inputClass} required>
            <option value="">Node…</option>
            {nodes.map((n) => (
              <option key={n.id} value={n.id}>
                {n.name}
              </option>
            ))}
          </select>
          <select aria-label="Model version" value={form.modelId} onChange={(e) => setForm({ ...form, modelId: e.target.value })} className={inputClass} required>
            <option value="">Model version…</option>
            {models
              .filter((m) => m.status === "ready")
              .map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
          </select>
        </div>
        <input
          aria-label="Name on the node"
          list={`${id}-names`}
          value={form.remoteName}
          onChange={(e) => setForm({ ...form, remoteName: e.target.value })}
          placeholder="Name on the node (e.g. starter)"
          className={`${inputClass} font-mono`}
          required
        />
        <datalist id={`${id}-names`}>
          {(node?.health?.models ?? []).map((m) => (
            <option key={m} value={m} />
          ))}
        </datalist>
        <button type="submit" className={primaryButtonClass} disabled={assign.isPending}>
          {assign.isPending ? "Checking…" : "Serve from this node"}
        </button>
        {assign.error ? <FormError message={errorMessage(assign.error)} /> : null}
      </form>
    </Panel>
  );
}
