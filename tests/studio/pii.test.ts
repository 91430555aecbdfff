// PII rules on technical text: what they must replace, and (the documented false-positive suite)
// what they must leave alone in code, version strings, dates, and Perl/C++/shell syntax.
import { describe, expect, it } from "vitest";
import { cleanRecords, piiSwitches } from "@/server/studio/cleaning";
import { cardIssuer, emptyPiiReport, isImpersonalEmail, scrubPersonalData, type PiiRuleSwitches } from "@/server/studio/pii";

const ALL: PiiRuleSwitches = { email: true, phone: true, card: true, ip: true };
const scrub = (text: string, rules = ALL) => {
  const report = emptyPiiReport();
  return { out: scrubPersonalData(text, rules, report), report };
};

/** Replaced: [input, expected output] (written by hand). */
const REPLACED: [string, string][] = [
  ["Write to marta.kowalska@harbourworks.pl today.", "Write to [EMAIL] today."],
  ["a.b+c@example.co.uk", "[EMAIL]"],
  ["Call +33 1 42 68 53 00 now.", "Call [PHONE] now."],
  ["Call (415) 555-0134.", "Call [PHONE]."],
  ["Office: 415-555-0134", "Office: [PHONE]"],
  ["Dial +1 415 555 0134.", "Dial [PHONE]."],
  ["London office 020 7946 0958.", "London office [PHONE]."],
  ["Tel. 0049 30 12345678", "Tel. [PHONE]"],
  ["phone: 555 0134 22", "phone: [PHONE]"],
  ["Card 4111-1111-1111-1111 on file.", "Card [CARD] on file."],
  ["Amex 3782 822463 10005.", "Amex [CARD]."],
  ["mastercard 5555555555554444", "mastercard [CARD]"],
  ["Server 10.0.0.1 is down.", "Server [IP] is down."],
  ["Client 81.2.69.160 connected", "Client [IP] connected"],
  ["From 2a00:1450:4007:80e::200e today", "From [IP] today"],
  ["Router at fe80::1ff:fe23:4567:890a.", "Router at [IP]."],
];

/**
 * The false-positive suite: technical text that looks like personal data to a naive rule.
 * Every line must come out unchanged.
 */
const UNCHANGED: { kind: string; text: string }[] = [
  // years, ranges, dates, times
  { kind: "year range", text: "Copyright (C) 1997-2010 Larry Wall and others." },
  { kind: "year range", text: "Maintained 1995-2023; see 2001-2004 for history." },
  { kind: "year list", text: "Released in 1998 2003 2011." },
  { kind: "ISO date", text: "Date 2024-01-15, updated 2023-12-31." },
  { kind: "European date", text: "Valid from 15.01.2024 to 31.12.2025." },
  { kind: "US date", text: "Due 01/15/2024." },
  { kind: "time", text: "Started at 12:30:45 and ended 13:01:02." },
  // versions and numbers with units
  { kind: "version", text: "perl 5.021011, version 1.2.3, v5.36.0, node 20.10.0" },
  { kind: "4-part version", text: "version 1.2.3.4 and kernel 2.6.32.71 and build 10.0.19045.3803" },
  { kind: "number with unit", text: "The file is 123 456 789 bytes and took 1 234 567 ms." },
  { kind: "big numbers", text: "Between 18446744073709551615 and 9007199254740993 lies nothing." },
  { kind: "not a card (Luhn fails)", text: "Order number 1234 5678 9012 3456 stays." },
  { kind: "not a card (no issuer)", text: "Serial 0000 0000 0000 0000 stays." },
  { kind: "decimals", text: "pi is 3.14159 and e is 2.71828; ratios 0.25 0.5 0.75." },
  // Perl
  { kind: "Perl B:: hierarchy", text: "the B:: hierarchy of modules, B::Deparse and B::Concise" },
  { kind: "Perl modules", text: "use Data::Dumper; use File::Spec::Functions qw(catfile); Foo::Bar->new" },
  { kind: "Perl sigils", text: 'my @list = (1..10); my %h = (a => 1); print "@list\\n"; $x =~ s/\\d+//g;' },
  { kind: "Perl emails in code", text: 'my $addr = "$user\\@$host"; push @ISA, "Exporter";' },
  // C++
  { kind: "C++ scope", text: "std::vector<int> v; std::map<K,V>::iterator it; A::B::C x;" },
  { kind: "C++ hex names", text: "dead::beef(); add::to(x); Cc::" },
  { kind: "C++ literals", text: "int mask = 0xFF00FF00; long n = 1234567890L; float f = 1.5e10f;" },
  // shell
  { kind: "shell arrays", text: 'for x in "${arr[@]}"; do echo "$x"; done' },
  { kind: "shell prompt", text: "user@host:~$ ls -la /var/log" },
  { kind: "chmod and ports", text: "chmod 0755 script.sh && nc -l 8080 && ssh -p 2222 deploy" },
  // documentation addresses (kept on purpose)
  { kind: "example.com", text: "Send it to user@example.com or admin@example.org." },
  { kind: "reserved TLDs", text: "alice@mail.example, bob@host.test, x@y.invalid" },
  { kind: "role mailboxes", text: "Report bugs to perlbug@perl.org or perlfaq-workers@perl.org; postmaster@harbour.pl." },
  { kind: "loopback and docs IPs", text: "listen on 127.0.0.1 or 0.0.0.0; mask 255.255.255.0; example 192.0.2.10, 203.0.113.5" },
  { kind: "IPv6 loopback and docs", text: "bind [::1]:8080 or ::, see 2001:db8::8a2e:370:7334" },
];

describe("PII rules replace personal data", () => {
  for (const [input, expected] of REPLACED) {
    it(input, () => expect(scrub(input).out).toBe(expected));
  }
});

describe("PII false positives: technical text is left alone", () => {
  for (const { kind, text } of UNCHANGED) {
    it(`${kind}: ${text}`, () => {
      const { out, report } = scrub(text);
      expect(out).toBe(text);
      expect(report.email.found + report.phone.found + report.card.found + report.ip.found).toBe(0);
    });
  }
});

describe("rule helpers", () => {
  it("card issuers by prefix and length", () => {
    expect(cardIssuer("4111111111111111")).toBe("visa");
    expect(cardIssuer("378282246310005")).toBe("amex");
    expect(cardIssuer("5555555555554444")).toBe("mastercard");
    expect(cardIssuer("1234567890123456")).toBeNull();
    expect(cardIssuer("411111111111111")).toBeNull(); // 15-digit Visa does not exist
  });
  it("impersonal addresses", () => {
    expect(isImpersonalEmail("user@example.com")).toBe(true);
    expect(isImpersonalEmail("perl5-porters-request@perl.org")).toBe(true);
    expect(isImpersonalEmail("larry.wall@perl.org")).toBe(false);
  });
});

describe("per-rule switches and the preview report", () => {
  const text = "Mail marta@harbourworks.pl, call +44 20 7946 0958, host 81.2.69.160, docs user@example.com, years 1997-2010.";

  it("a rule that is off replaces nothing but still reports what it would replace", () => {
    const { out, report } = scrub(text, { email: true, phone: false, card: true, ip: false });
    expect(out).toBe("Mail [EMAIL], call +44 20 7946 0958, host 81.2.69.160, docs user@example.com, years 1997-2010.");
    expect(report.email).toMatchObject({ found: 1, kept: 1 });
    expect(report.phone.found).toBe(1);
    expect(report.ip.found).toBe(1);
    expect(report.email.examples[0]).toMatchObject({ match: "marta@harbourworks.pl" });
    expect(report.email.examples[0]!.context).toContain("Mail marta@harbourworks.pl, call");
    expect(report.email.keptExamples[0]).toMatchObject({ match: "user@example.com" });
    expect(report.phone.examples[0]!.match).toBe("+44 20 7946 0958");
  });

  it("cleanRecords counts replacements per switched-on rule and reports every rule", () => {
    const records = [{ kind: "text" as const, text }];
    const base = { dedupe: true, nearDedupe: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0 };
    const r = cleanRecords(records, { ...base, scrubPii: true, piiRules: { phone: false } });
    expect(r.effect.pii).toEqual({ email: 1, phone: 0, card: 0, ip: 1 });
    expect(r.effect.piiReport.phone.found).toBe(1);
    expect((r.kept[0] as { text: string }).text).toContain("+44 20 7946 0958");
    const off = cleanRecords(records, { ...base, scrubPii: false });
    expect(off.effect.pii).toEqual({ email: 0, phone: 0, card: 0, ip: 0 });
    expect(off.effect.piiReport.email.found).toBe(1); // the preview still says what the rule would do
    expect((off.kept[0] as { text: string }).text).toBe(text);
    expect(piiSwitches({ scrubPii: false, piiRules: { email: true } })).toEqual({ email: false, phone: false, card: false, ip: false });
  });
});
