"use client";

import { memo, useState, type ComponentPropsWithoutRef, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { safeUrl } from "../_lib/safe-url";

const LINK_PROPS = { target: "_blank", rel: "noopener noreferrer nofollow" } as const;

function textOf(node: ReactNode): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  if (node && typeof node === "object" && "props" in node) {
    return textOf((node.props as { children?: ReactNode }).children);
  }
  return "";
}

function CodeBlock({ children, ...rest }: ComponentPropsWithoutRef<"pre">) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(textOf(children));
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      /* clipboard unavailable (insecure context) */
    }
  };
  return (
    <div className="group/code relative">
      <pre {...rest}>{children}</pre>
      <button
        type="button"
        onClick={copy}
        className="absolute right-2 top-2 rounded-md border border-zinc-200 bg-white/90 px-2 py-0.5 text-xs text-zinc-600 opacity-0 transition group-hover/code:opacity-100 focus-visible:opacity-100 dark:border-zinc-700 dark:bg-zinc-800/90 dark:text-zinc-300"
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} {...LINK_PROPS}>
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  // Never load remote images from model output (tracking, mixed content): show them as links.
  img: ({ src, alt }) => {
    const href = typeof src === "string" ? src : "";
    const label = `Image: ${alt || href || "untitled"}`;
    return href ? (
      <a href={href} {...LINK_PROPS} className="md-image-link">
        {label}
      </a>
    ) : (
      <span className="md-image-link">{label}</span>
    );
  },
  pre: CodeBlock,
  table: ({ children }) => (
    <div className="md-table">
      <table>{children}</table>
    </div>
  ),
};

/**
 * Markdown for model and user text. Raw HTML is never interpreted (react-markdown renders it as
 * text; there is deliberately no rehype-raw), URLs are filtered by safeUrl, images become links.
 */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="md">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[[rehypeHighlight, { detect: false }]]}
        urlTransform={safeUrl}
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
});
