import "server-only";
import type { AtelierDb } from "../../db/client";
import type { ConversationRow } from "../../db/schema";

/*
 * Experiments (A/B on live traffic) live above chat, in server/loop; the stored turn asks them
 * which model version answers a conversation through this one hook, registered at start-up
 * (server/bootstrap.ts). Without a resolver, or when it returns null, the assistant's active
 * version answers.
 */

export type ArmChoice = { armId: string; modelId: string };
export type ArmResolver = (db: AtelierDb, conversation: ConversationRow) => ArmChoice | null;

const globalForArms = globalThis as unknown as { atelierArmResolver?: ArmResolver };

export function registerArmResolver(resolver: ArmResolver | null): void {
  globalForArms.atelierArmResolver = resolver ?? undefined;
}

export function armFor(db: AtelierDb, conversation: ConversationRow): ArmChoice | null {
  const resolve = globalForArms.atelierArmResolver;
  if (!resolve) return null;
  try {
    return resolve(db, conversation);
  } catch (err) {
    // An experiment problem must never cost a visitor the answer: the active version answers.
    console.error("[chat] experiment arm lookup failed; answering with the active version:", err);
    return null;
  }
}
