import { cloneElement, isValidElement, type ReactElement, type ReactNode } from "react";
import { inputClass } from "../../models/_components/panel";

/** A narrow numeric box beside a slider (the shared input class is full-width). */
export const numberInputClass = `${inputClass.replace("w-full ", "")} w-24 shrink-0 tabular-nums`;

const nf = new Intl.NumberFormat("en-US");

/** One titled block of the editor; `id` is its anchor in the section nav. */
export function Section({ id, title, description, children }: { id: string; title: string; description: string; children: ReactNode }) {
  return (
    <section
      id={id}
      aria-labelledby={`${id}-title`}
      className="scroll-mt-20 rounded-xl border border-zinc-200 bg-white p-5 shadow-xs dark:border-zinc-800 dark:bg-zinc-900/50"
    >
      <h2 id={`${id}-title`} className="text-sm font-semibold">
        {title}
      </h2>
      <p className="mt-0.5 text-xs text-zinc-500">{description}</p>
      <div className="mt-4 space-y-4">{children}</div>
    </section>
  );
}

/**
 * A label, its control and a hint. The hint describes the control (aria-describedby) rather than
 * being read as part of its label; a control that is not the direct child (a slider beside a
 * number box) points at `${htmlFor}-hint` itself.
 */
export function Field({ label, htmlFor, hint, children, aside }: { label: string; htmlFor?: string; hint?: ReactNode; children: ReactNode; aside?: ReactNode }) {
  const hintId = htmlFor && hint ? `${htmlFor}-hint` : undefined;
  const control =
    hintId && isValidElement(children) && (children.props as { id?: string }).id === htmlFor
      ? cloneElement(children as ReactElement<{ "aria-describedby"?: string }>, { "aria-describedby": hintId })
      : children;
  return (
    <div>
      <div className="flex items-baseline justify-between gap-2">
        <label htmlFor={htmlFor} className="text-xs font-medium text-zinc-700 dark:text-zinc-300">
          {label}
        </label>
        {aside}
      </div>
      <div className="mt-1.5">{control}</div>
      {hint && (
        <p id={hintId} className="mt-1 text-xs text-zinc-500">
          {hint}
        </p>
      )}
    </div>
  );
}

/** "1,234 / 20,000", red past the limit. */
export function CharCount({ value, limit }: { value: string; limit: number }) {
  const over = value.length > limit;
  return (
    <span className={`text-xs tabular-nums ${over ? "font-medium text-red-600 dark:text-red-400" : "text-zinc-400"}`}>
      {nf.format(value.length)} / {nf.format(limit)}
    </span>
  );
}
