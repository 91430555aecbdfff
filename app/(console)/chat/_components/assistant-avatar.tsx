/** The assistant's avatar: its emoji/short text (or its initial) on its color. */
export function AssistantAvatar({
  name,
  color,
  avatar,
  size = "md",
}: {
  name: string;
  color: string;
  avatar?: string | null;
  size?: "sm" | "md" | "lg";
}) {
  const dims = { sm: "size-5 text-[10px]", md: "size-7 text-xs", lg: "size-12 text-lg" }[size];
  return (
    <span
      aria-hidden="true"
      style={{ backgroundColor: color || undefined }}
      className={`grid shrink-0 place-items-center overflow-hidden rounded-full bg-accent-600 font-semibold text-white ${dims}`}
    >
      {avatar?.trim() || name.trim().charAt(0).toUpperCase() || "A"}
    </span>
  );
}
