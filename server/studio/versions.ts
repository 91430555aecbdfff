import "server-only";
import type { Session } from "../auth/sessions";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import type { VersionView } from "./types";

const todo = (what: string) => new AppError("PRECONDITION_FAILED", `${what} is not implemented yet.`);

export function getEvalPrompts(_db: AtelierDb, _assistantId: string): string[] {
  throw todo("studio.evalPrompts.get");
}
export function setEvalPrompts(_db: AtelierDb, _input: { assistantId: string; prompts: string[] }, _session: Session | null): string[] {
  throw todo("studio.evalPrompts.set");
}
export function listVersions(_db: AtelierDb, _assistantId?: string): VersionView[] {
  throw todo("studio.versions.list");
}
export function activateVersion(_db: AtelierDb, _input: { assistantId: string; modelId: string }, _session: Session | null): { previousModelId: string | null } {
  throw todo("studio.versions.activate");
}
