import "server-only";
import { isIPv4, isIPv6 } from "node:net";

/*
 * Personal data in training text, found by rules that know technical writing. Each rule needs
 * the shape of the real thing, not just digits and separators:
 *
 *  - email: an address at a real-looking domain. Kept (not personal): addresses at domains
 *    reserved for documentation (RFC 2606/6761: example.com/.net/.org, *.example, *.test,
 *    *.invalid, *.localhost) and role or list mailboxes that name no person (postmaster@,
 *    support@, noreply@, perlbug@…, *-request@, *-workers@, *-users@…).
 *  - phone: phone-like grouping only: an international "+CC …" number, a "(area) exchange-line"
 *    number, the North American 3-3-4 form, a national number with a leading trunk 0 in groups,
 *    or any grouped 7–15 digit number right after "phone", "tel", "fax", "call", "mobile"…
 *    Never a year range (1997-2010), a date, a version or a number followed by a unit.
 *  - card: 13–19 digits with a card issuer's prefix and length, grouped like a card
 *    (4-4-4-4, Amex 4-6-5, or ungrouped), passing the Luhn check.
 *  - ip: IPv4 with four valid octets, not a version ("version 1.2.3.4", "v1.2.3.4"), not a
 *    loopback/unspecified/netmask or documentation address (192.0.2.0/24, 198.51.100.0/24,
 *    203.0.113.0/24); IPv6 a valid address with at least two groups and a digit, so Perl and
 *    C++ names (B::, Foo::Bar, std::map, dead::beef) are not addresses; ::1, :: and the
 *    documentation prefix 2001:db8::/32 are kept.
 */

export const PII_RULES = ["email", "phone", "card", "ip"] as const;
export type PiiRule = (typeof PII_RULES)[number];
export type PiiRuleSwitches = Record<PiiRule, boolean>;
export const PII_PLACEHOLDERS: Record<PiiRule, string> = { email: "[EMAIL]", phone: "[PHONE]", card: "[CARD]", ip: "[IP]" };

/** What the rules saw: replaced (rule on) or would replace (rule off), kept as not personal, with a few examples of each. */
export type PiiExample = { match: string; context: string };
export type PiiRuleReport = { found: number; kept: number; examples: PiiExample[]; keptExamples: PiiExample[] };
export type PiiReport = Record<PiiRule, PiiRuleReport>;

export const EXAMPLES_PER_RULE = 3;

export function emptyPiiReport(): PiiReport {
  const r = (): PiiRuleReport => ({ found: 0, kept: 0, examples: [], keptExamples: [] });
  return { email: r(), phone: r(), card: r(), ip: r() };
}

// ---------------------------------------------------------------------------------------------

const EMAIL = /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])/g;
const RESERVED_DOMAIN = /(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$/i;
const ROLE_MAILBOX = new Set([
  "postmaster", "hostmaster", "webmaster", "abuse", "security", "support", "help", "info", "contact", "sales", "admin",
  "root", "noreply", "no-reply", "donotreply", "bugs", "bug", "feedback", "press", "list", "lists", "git", "mailer-daemon",
  "perlbug", "perlfaq-workers", "majordomo", "listserv",
]);
const ROLE_SUFFIX = /-(?:request|owner|bugs|workers|users|devel|dev|announce|help|admin|list|subscribe|unsubscribe)$/i;

/** Not personal: a documentation domain or a role/list mailbox. */
export function isImpersonalEmail(address: string): boolean {
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at).toLowerCase();
  const domain = address.slice(at + 1).toLowerCase();
  return RESERVED_DOMAIN.test(domain) || ROLE_MAILBOX.has(local) || ROLE_SUFFIX.test(local);
}

// Cards: digits in groups of 4 (or Amex 4-6-5), or one run.
const CARD = /(?<![\w.-])(?:\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5}|\d{13,19})(?![\w]|[.-]\d)/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** A card number's issuer prefix and length (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
export function cardIssuer(digits: string): string | null {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (digits[0] === "4" && (n === 13 || n === 16 || n === 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return "mastercard";
  if ((p2 === 34 || p2 === 37) && n === 15) return "amex";
  if ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) && n >= 16 && n <= 19) return "discover";
  if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) return "jcb";
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38) && n >= 14 && n <= 19) return "diners";
  if (p2 === 62 && n >= 16 && n <= 19) return "unionpay";
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && n >= 12 && n <= 19) return "maestro";
  return null;
}

// IPv4: four octets 0-255, not glued to more dotted numbers or words.
const IPV4 = /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)/g;
const VERSION_BEFORE = /(?:\bv|\bversions?|\brelease|\bkernel|\bbuild|\bver\.?|\bperl|\bpython|\bnode|\bopenssl|\bgcc|\bfirmware|\bschema)\s*[:=]?\s*$/i;
function isIgnoredIpv4(ip: string): boolean {
  if (ip === "0.0.0.0" || ip.startsWith("127.") || ip.startsWith("255.")) return true; // unspecified, loopback, netmasks
  return ip.startsWith("192.0.2.") || ip.startsWith("198.51.100.") || ip.startsWith("203.0.113."); // RFC 5737 documentation
}

const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3})(?![\w:])/g;
function isIpv6Address(m: string): boolean {
  if (!isIPv6(m)) return false;
  const groups = m.split(":").filter((g) => g !== "");
  // "B::", "dead::beef", "add::": valid hex, but in text they are Perl/C++ names
  if (groups.length < 2 || !/\d/.test(m)) return false;
  return true;
}
function isIgnoredIpv6(m: string): boolean {
  const lower = m.toLowerCase();
  return lower === "::" || lower === "::1" || /^2001:0?db8:/.test(lower); // unspecified, loopback, RFC 3849 documentation
}

// Phones: candidates are digit groups joined by one kind of separator; the shape decides.
const PHONE = /(?<![\w+.\-/:])(\+\d{1,3}[ .-]?)?(\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]\d{1,8}){1,6}(?![\w]|[.:/-]\d)/g;
const PHONE_WORD_BEFORE = /\b(?:phone|telephone|tel|fax|call|mobile|cell|ring|sms|whatsapp|hotline|tél|telefon|téléphone)\b[^\n\d]{0,12}$/i;
const UNIT_AFTER = /^\s*(?:%|bytes?|[kmgt]i?b\b|ms\b|s\b|sec|seconds?|minutes?|hours?|days?|years?|tokens?|rows?|lines?|words?|chars?|characters?|times?|px\b|pt\b|mm\b|cm\b|km\b|kg\b|°)/i;
const NANP = /^(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}$/;

/** Is this digit-group candidate a phone number in its context? */
export function looksLikePhone(m: string, before: string, after: string): boolean {
  const digits = m.replace(/\D/g, "");
  if (digits.length < 7 || digits.length > 15) return false;
  if (UNIT_AFTER.test(after)) return false;
  const groups = m.replace(/^\+\d{1,3}[ .-]?/, "").replace(/[()]/g, "").split(/[ .-]+/).filter(Boolean);
  const seps = new Set(m.replace(/^\+\d{1,3}/, "").match(/[ .-]/g) ?? []);
  // Years and year ranges: "1997-2010", "1997 2001 2010"; dates: "2024-01-15", "15.01.2024"
  if (groups.every((g) => g.length === 4 && Number(g) >= 1000 && Number(g) <= 2099)) return false;
  if (/^\d{4}[-./]\d{1,2}[-./]\d{1,2}$/.test(m) || /^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$/.test(m)) return false;
  if (seps.size > 1 && !/^\+/.test(m) && !/\(/.test(m)) return false; // "1.2-3 4": mixed separators, not a phone
  if (PHONE_WORD_BEFORE.test(before) && groups.length >= 2) return true;
  if (m.startsWith("+")) return digits.length >= 8 && groups.length >= 2;
  if (/^\(\d{2,5}\)/.test(m)) return groups.length >= 2 && digits.length >= 7;
  if (NANP.test(m)) return true;
  // national numbers with a trunk 0: "020 7946 0958", "030 1234 5678", "06 12 34 56 78"
  if (/^0\d/.test(m) && groups.length >= 2 && digits.length >= 9 && digits.length <= 12 && groups.every((g) => g.length >= 2)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------

function contextOf(text: string, offset: number, length: number): string {
  const start = Math.max(0, offset - 30);
  const end = Math.min(text.length, offset + length + 30);
  return `${start > 0 ? "…" : ""}${text.slice(start, end).replace(/\s+/g, " ")}${end < text.length ? "…" : ""}`;
}

type Verdict = "replace" | "keep" | "skip";

function apply(text: string, re: RegExp, rule: PiiRule, on: boolean, report: PiiReport, judge: (m: string, offset: number, src: string) => Verdict): string {
  const r = report[rule];
  return text.replace(re, (...args) => {
    const m = args[0] as string;
    const offset = args[args.length - 2] as number;
    const src = args[args.length - 1] as string;
    const verdict = judge(m, offset, src);
    if (verdict === "skip") return m;
    if (verdict === "keep") {
      r.kept++;
      if (r.keptExamples.length < EXAMPLES_PER_RULE) r.keptExamples.push({ match: m, context: contextOf(src, offset, m.length) });
      return m;
    }
    r.found++;
    if (r.examples.length < EXAMPLES_PER_RULE) r.examples.push({ match: m, context: contextOf(src, offset, m.length) });
    return on ? PII_PLACEHOLDERS[rule] : m;
  });
}

/**
 * Replaces the personal data the switched-on rules find with placeholders; every rule counts
 * what it finds (a switched-off rule says what it would replace), and what it keeps on purpose.
 */
export function scrubPersonalData(text: string, rules: PiiRuleSwitches, report: PiiReport): string {
  let out = apply(text, EMAIL, "email", rules.email, report, (m) => (isImpersonalEmail(m) ? "keep" : "replace"));
  out = apply(out, CARD, "card", rules.card, report, (m) => {
    const digits = m.replace(/\D/g, "");
    return cardIssuer(digits) && luhnValid(digits) ? "replace" : "skip";
  });
  out = apply(out, IPV4, "ip", rules.ip, report, (m, offset, src) => {
    if (!isIPv4(m) || VERSION_BEFORE.test(src.slice(Math.max(0, offset - 24), offset))) return "skip";
    return isIgnoredIpv4(m) ? "keep" : "replace";
  });
  out = apply(out, IPV6_CANDIDATE, "ip", rules.ip, report, (m) => (!isIpv6Address(m) ? "skip" : isIgnoredIpv6(m) ? "keep" : "replace"));
  out = apply(out, PHONE, "phone", rules.phone, report, (m, offset, src) =>
    looksLikePhone(m.trim(), src.slice(Math.max(0, offset - 40), offset), src.slice(offset + m.length, offset + m.length + 16)) ? "replace" : "skip",
  );
  return out;
}
