export function AssistantAvatar({ name, color, size = "md" }: { name: string; color: string; size?: "sm" | "md" | "lg" }) {
  const dims = { sm: "size-5 text-[10px]", md: "size-7 text-xs", lg: "size-12 text-lg" }[size];
  return (
    <span
      aria-hidden="true"
      style={{ backgroundColor: color || undefined }}
      className={`grid shrink-0 place-items-center rounded-full bg-accent-600 font-semibold text-white ${dims}`}
    >
      {name.trim().charAt(0).toUpperCase() || "A"}
    </span>
  );
}
