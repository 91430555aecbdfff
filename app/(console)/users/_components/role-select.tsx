import type { Role } from "@/app/_lib/session";
import { inputClass } from "../../models/_components/panel";

export const ROLE_HELP: Record<Role, string> = {
  viewer: "Viewer: chats and reads the console",
  editor: "Editor: also configures assistants, knowledge, training and deployments",
  admin: "Admin: also manages users, models on disk and keys",
};

export function RoleSelect({ id, value, onChange, disabled }: { id?: string; value: Role; onChange: (r: Role) => void; disabled?: boolean }) {
  return (
    <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value as Role)} className={inputClass} title={ROLE_HELP[value]}>
      {(Object.keys(ROLE_HELP) as Role[]).map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}
