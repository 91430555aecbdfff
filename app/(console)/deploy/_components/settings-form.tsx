"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, FormSuccess, Panel, inputClass, primaryButtonClass } from "../../models/_components/panel";

type Data = RouterOutputs["deploy"]["get"];
const lines = (s: string) => s.split("\n").map((l) => l.trim()).filter(Boolean);
const orNull = (s: string) => (s.trim() ? s.trim() : null);

function Field({ label, hint, children, htmlFor }: { label: string; hint?: string; children: ReactNode; htmlFor: string }) {
  return (
    <div>
      <label htmlFor={htmlFor} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
        {label}
      </label>
      {children}
      {hint && <p className="mt-1 text-xs text-zinc-500">{hint}</p>}
    </div>
  );
}

/** Access, quotas and appearance, saved together. */
export function SettingsForm({ assistant, deployment: d }: { assistant: Data["assistant"]; deployment: NonNullable<Data["deployment"]> }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const a = d.appearance;
  const [enabled, setEnabled] = useState(d.enabled);
  const [origins, setOrigins] = useState(d.allowedOrigins.join("\n"));
  const [anyOrigin, setAnyOrigin] = useState(d.anyOrigin);
  const [visitorDaily, setVisitorDaily] = useState(d.visitorDailyLimit);
  const [daily, setDaily] = useState(d.dailyLimit);
  const [perMinute, setPerMinute] = useState(d.ipPerMinuteLimit);
  const [title, setTitle] = useState(a.title ?? "");
  const [color, setColor] = useState(a.color ?? assistant.color);
  const [position, setPosition] = useState(a.position);
  const [greeting, setGreeting] = useState(a.greeting ?? "");
  const [starters, setStarters] = useState((a.starterQuestions ?? []).join("\n"));
  const [avatar, setAvatar] = useState(a.avatar ?? "");
  const [openOnLoad, setOpenOnLoad] = useState(a.openOnLoad);
  const [size, setSize] = useState(a.size);
  const save = useMutation(trpc.deploy.update.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.deploy.pathFilter()) }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({
      assistantId: d.assistantId,
      patch: {
        enabled,
        allowedOrigins: lines(origins),
        anyOrigin,
        visitorDailyLimit: visitorDaily,
        dailyLimit: daily,
        ipPerMinuteLimit: perMinute,
        appearance: {
          title: orNull(title),
          color: color === assistant.color ? null : color,
          position,
          greeting: orNull(greeting),
          starterQuestions: lines(starters).length ? lines(starters) : null,
          avatar: orNull(avatar),
          openOnLoad,
          size,
        },
      },
    });
  };
  const num = (v: number, set: (n: number) => void, label: string) => (
    <Field label={label} htmlFor={`${id}-${label}`} hint="0 = no limit">
      <input id={`${id}-${label}`} type="number" min={0} value={v} onChange={(e) => set(Math.max(0, Math.floor(Number(e.target.value) || 0)))} className={inputClass} />
    </Field>
  );

  return (
    <form onSubmit={submit} className="space-y-4" data-testid="deploy-settings">
      <Panel title="Widget access" description="Which websites may embed this assistant. Requests from any other site are refused.">
        <div className="space-y-3">
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} data-testid="deploy-enabled" />
            Widget enabled
          </label>
          <Field label="Allowed origins (one per line)" htmlFor={`${id}-origins`} hint="Exactly scheme://host[:port], e.g. https://www.example.com. An empty list keeps the widget off.">
            <textarea id={`${id}-origins`} value={origins} onChange={(e) => setOrigins(e.target.value)} rows={3} className={`${inputClass} font-mono`} spellCheck={false} data-testid="deploy-origins" />
          </Field>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={anyOrigin} onChange={(e) => setAnyOrigin(e.target.checked)} />
            Allow any origin <span className="text-xs text-amber-700 dark:text-amber-400">(any website can embed it and use your quota)</span>
          </label>
        </div>
      </Panel>
      <Panel title="Quotas" description="Enforced on every widget message (the daily total also counts API requests).">
        <div className="grid gap-3 sm:grid-cols-3">
          {num(visitorDaily, setVisitorDaily, "Messages per visitor per day")}
          {num(daily, setDaily, "Messages per day in total")}
          {num(perMinute, setPerMinute, "Requests per IP per minute")}
        </div>
      </Panel>
      <Panel title="Appearance" description="Empty fields use the assistant’s own name, color, greeting and starter questions.">
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Title" htmlFor={`${id}-title`}>
            <input id={`${id}-title`} value={title} onChange={(e) => setTitle(e.target.value)} placeholder={assistant.name} className={inputClass} maxLength={80} />
          </Field>
          <Field label="Avatar (emoji or short text)" htmlFor={`${id}-avatar`}>
            <input id={`${id}-avatar`} value={avatar} onChange={(e) => setAvatar(e.target.value)} placeholder={assistant.avatar ?? "💬"} className={inputClass} maxLength={8} />
          </Field>
          <Field label="Color" htmlFor={`${id}-color`}>
            <input id={`${id}-color`} type="color" value={color} onChange={(e) => setColor(e.target.value)} className="h-9 w-16 rounded border border-zinc-200 dark:border-zinc-700" />
          </Field>
          <div className="grid grid-cols-2 gap-3">
            <Field label="Position" htmlFor={`${id}-position`}>
              <select id={`${id}-position`} value={position} onChange={(e) => setPosition(e.target.value as typeof position)} className={inputClass}>
                <option value="right">Bottom right</option>
                <option value="left">Bottom left</option>
              </select>
            </Field>
            <Field label="Size" htmlFor={`${id}-size`}>
              <select id={`${id}-size`} value={size} onChange={(e) => setSize(e.target.value as typeof size)} className={inputClass}>
                <option value="small">Small</option>
                <option value="medium">Medium</option>
                <option value="large">Large</option>
              </select>
            </Field>
          </div>
          <Field label="Greeting" htmlFor={`${id}-greeting`}>
            <textarea id={`${id}-greeting`} value={greeting} onChange={(e) => setGreeting(e.target.value)} placeholder={assistant.greeting ?? ""} rows={2} className={inputClass} maxLength={500} />
          </Field>
          <Field label="Starter questions (one per line, up to 6)" htmlFor={`${id}-starters`}>
            <textarea id={`${id}-starters`} value={starters} onChange={(e) => setStarters(e.target.value)} placeholder={assistant.starterQuestions.join("\n")} rows={2} className={inputClass} />
          </Field>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={openOnLoad} onChange={(e) => setOpenOnLoad(e.target.checked)} />
            Open the chat when the page loads
          </label>
        </div>
      </Panel>
      <div className="flex items-center gap-3">
        <button type="submit" disabled={save.isPending} className={primaryButtonClass} data-testid="deploy-save">
          {save.isPending ? "Saving…" : "Save settings"}
        </button>
        {save.isSuccess && <FormSuccess message="Saved." />}
      </div>
      {save.isError && <FormError message={errorMessage(save.error)} />}
    </form>
  );
}
