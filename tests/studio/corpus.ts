// A small made-up domain for studio tests: the Quillfeather printer's error codes as Q/A chat
// records (with paraphrased questions, so held-out records share the structure), plus raw text
// with PII and duplicates for the cleaning assertions.

const PARTS = ["fuser", "platen", "toner hopper", "duplex flap", "feed roller", "spool gear"];
const ACTS = ["reseat", "clean", "replace", "recalibrate", "lubricate"];
const ASK = [
  (c: string) => `What does error ${c} mean on the Quillfeather?`,
  (c: string) => `My Quillfeather printer shows ${c}. What should I do?`,
  (c: string) => `How do I fix Quillfeather error ${c}?`,
];

export function printerChats(n = 72): { messages: { role: "user" | "assistant"; content: string }[] }[] {
  return Array.from({ length: n }, (_, i) => {
    const code = `QX-${100 + (i % 24) * 7}`;
    const part = PARTS[i % PARTS.length]!;
    const act = ACTS[(i * 3) % ACTS.length]!;
    return {
      messages: [
        { role: "user" as const, content: ASK[Math.floor(i / 24) % ASK.length]!(code) },
        { role: "assistant" as const, content: `Error ${code} means the ${part} is jammed. ${act[0]!.toUpperCase()}${act.slice(1)} the ${part} and press Resume.` },
      ],
    };
  });
}

export const chatJsonl = (records = printerChats()) => records.map((r) => JSON.stringify(r)).join("\n") + "\n";

/** Markdown with PII, an exact duplicate paragraph and a near duplicate. */
export const NOTES_MD = [
  "# Service notes",
  "Contact the Quillfeather support desk at ines.moreau@quillfeather.fr or call +1 415 555 0134 for a replacement fuser.",
  "The test card 4111 1111 1111 1111 was used for the warranty order; the print server answers on 192.168.10.42 and fe80::1ff:fe23:4567:890a.",
  "Order number 1234 5678 9012 3456 is not a card number: it fails the Luhn check, so it stays as written.",
  "Quillfeather printers warm the fuser to 190 degrees before the first page; a cold fuser smears the toner on thick paper and the sheet curls. Let the printer warm up for two minutes after a long pause, and keep the paper tray away from the window in winter.",
  "Quillfeather printers warm the fuser to 190 degrees before the first page; a cold fuser smears the toner on thick paper and the sheet curls. Let the printer warm up for two minutes after a long pause, and keep the paper tray away from the window in winter.",
  "Quillfeather printers warm the fuser to 190 degrees before the first page; a cold fuser smears the toner on heavy paper and the sheet curls. Let the printer warm up for two minutes after a long pause, and keep the paper tray away from the window in winter.",
].join("\n\n");

export const ALPACA_JSON = JSON.stringify([
  { instruction: "Name the part that error QX-100 concerns.", input: "", output: "The fuser." },
  { instruction: "Translate the code into a part.", input: "QX-107", output: "The platen." },
]);

export const QA_CSV = 'question,answer\n"What is QX-114?","The toner hopper is jammed."\nWhere is the duplex flap?,At the back of the Quillfeather.\n';
