import "server-only";
import { registerArmResolver } from "../chat";
import { resolveArm } from "./experiments";

/** Start-up (server/bootstrap.ts): the stored chat turn asks running experiments which version answers. */
export function startLoop(): void {
  registerArmResolver(resolveArm);
}
