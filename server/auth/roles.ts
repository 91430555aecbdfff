import "server-only";
import { ROLES, type Role } from "../db/auth-tables";

/** True when `role` may do what `required` may (admin ⊃ editor ⊃ viewer). */
export function hasRole(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** Who may call a procedure: "public" needs no login; the others name the least role allowed. */
export type Access = "public" | Role;
