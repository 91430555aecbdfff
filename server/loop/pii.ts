import "server-only";
import { scrubPii } from "../studio";

/*
 * PII scrubbing for reviewed conversations: the studio's scrubber (e-mails, phone numbers,
 * Luhn-valid cards, IP addresses → placeholders), shown to the reviewer as before/after.
 */

export type PiiCounts = { email: number; phone: number; card: number; ip: number };
export type Scrubbed = { before: string; after: string; changed: boolean };

export const emptyCounts = (): PiiCounts => ({ email: 0, phone: 0, card: 0, ip: 0 });

export function scrub(text: string, counts: PiiCounts = emptyCounts()): Scrubbed {
  const after = scrubPii(text, counts);
  return { before: text, after, changed: after !== text };
}

export const totalOf = (c: PiiCounts) => c.email + c.phone + c.card + c.ip;
