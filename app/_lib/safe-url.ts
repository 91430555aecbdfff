const ALLOWED_PROTOCOLS = new Set(["http", "https", "mailto"]);

/**
 * URL filter for model output. Only http(s), mailto and relative URLs survive; anything else
 * (javascript:, data:, vbscript:, file:, obfuscated variants with control characters) becomes "".
 */
export function safeUrl(url: string): string {
  // Browsers ignore ASCII whitespace/control characters inside a scheme ("java\tscript:").
  const normalized = url.replace(/[\u0000-\u0020\u007F-\u009F]+/g, "");
  if (normalized === "") return "";
  const scheme = /^([^:/?#]+):/.exec(normalized);
  if (!scheme) return normalized.startsWith("//") ? `https:${normalized}` : normalized;
  return ALLOWED_PROTOCOLS.has((scheme[1] ?? "").toLowerCase()) ? normalized : "";
}
