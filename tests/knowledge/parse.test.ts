import { describe, expect, it } from "vitest";
import { DocumentParseError, parseTextDocument, type ParsedDocument } from "@/server/documents";
import { bytes } from "./helpers";

function parseError(fileName: string, data: Uint8Array | string, maxBytes?: number): DocumentParseError {
  try {
    parseTextDocument({ fileName, bytes: typeof data === "string" ? bytes(data) : data }, { maxBytes });
  } catch (err) {
    expect(err).toBeInstanceOf(DocumentParseError);
    return err as DocumentParseError;
  }
  throw new Error(`expected ${fileName} to fail`);
}

const parse = (fileName: string, s: string | Uint8Array): ParsedDocument =>
  parseTextDocument({ fileName, bytes: typeof s === "string" ? bytes(s) : s });

/** Every outline entry points at its heading text inside the extracted text. */
function expectOutlineConsistent(doc: ParsedDocument): void {
  for (const h of doc.outline) expect(doc.text.slice(h.offset, h.offset + h.text.length)).toBe(h.text);
}

describe("parse errors are specific", () => {
  it("empty and whitespace-only files", () => {
    const e = parseError("notes.txt", "");
    expect(e.reason).toBe("empty");
    expect(e.errorCode).toBe("bad_request:knowledge");
    expect(e.message).toBe('"notes.txt": the file is empty (0 bytes).');
    expect(parseError("blank.md", " \n\t\n ").message).toMatch(/^"blank\.md": .*only whitespace/);
  });

  it("binary data: NUL bytes, control bytes, dense invalid UTF-8", () => {
    const withNul = bytes("hello\nworld\0\0\0binary");
    const e = parseError("image.txt", withNul);
    expect(e.reason).toBe("binary");
    expect(e.message).toMatch(/^"image\.txt": .*binary.*NUL byte at offset 11, line 2/);

    let seed = 7;
    const noise = new Uint8Array(4096).map(() => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 16) % 255 + 1; // never 0
    });
    expect(parseError("noise.md", noise).reason).toBe("binary");

    // No control bytes, but mostly invalid UTF-8 (e.g. a Shift-JIS or random high-byte file).
    const high = new Uint8Array(2000).map((_, i) => (i % 3 === 0 ? 0x41 : 0x80 + (i % 60)));
    const e2 = parseError("legacy.csv", high);
    expect(e2.reason).toBe("binary");
    expect(e2.message).toMatch(/^"legacy\.csv": the file is not valid UTF-8 text \(\d+ invalid byte sequences.*line 1\)\. Save it as UTF-8\./);
  });

  it("a few stray Latin-1 bytes are read as Windows-1252, with a warning", () => {
    const latin = new Uint8Array([...bytes("Caf"), 0xe9, ...bytes(" au lait, cr"), 0xe8, ...bytes("me br"), 0xfb, ...bytes("l"), 0xe9, ...bytes("e. ".repeat(40))]);
    const doc = parse("menu.txt", latin);
    expect(doc.encoding).toBe("windows-1252");
    expect(doc.text).toContain("Café au lait, crème brûlée.");
    expect(doc.warnings.join(" ")).toMatch(/not valid UTF-8.*Windows-1252/);
  });

  it("over the size limit", () => {
    const e = parseError("big.txt", "x".repeat(3000), 2048);
    expect(e.reason).toBe("too-large");
    expect(e.errorCode).toBe("too_large:knowledge");
    expect(e.message).toBe('"big.txt": the file is 2.9 KiB, over the 2.0 KiB limit for one document.');
  });

  it("unsupported formats name what they are", () => {
    expect(parseError("report.txt", "%PDF-1.7\n...").message).toMatch(/^"report\.txt": the file is a PDF, not text; name it \.pdf/);
    expect(parseError("letter.doc", "hello").message).toMatch(/^"letter\.doc": \.doc import is not supported \(save it as \.docx/);
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);
    expect(parseError("letter.md", zip).message).toMatch(/ZIP archive .*must be named \.docx/);
    const e = parseError("setup.exe", "MZ");
    expect(e.reason).toBe("unsupported");
    expect(e.message).toMatch(/^"setup\.exe": \.exe files are not supported \(supported: .*\.md.*\)/);
  });

  it("JSONL errors carry the line number", () => {
    const e = parseError("data.jsonl", '{"text": "one"}\n\n{"text": "three"\n{"text": "four"}\n');
    expect(e.reason).toBe("invalid-json");
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^"data\.jsonl" line 3: invalid JSON on this line \(.+\)\.$/);
  });

  it("JSON and CSV syntax errors", () => {
    const e = parseError("faq.json", '{\n  "a": "b",\n  "c": \n}');
    expect(e.reason).toBe("invalid-json");
    expect(e.message).toMatch(/^"faq\.json"( line 4)?: invalid JSON/);
    const c = parseError("table.csv", 'name,notes\nAda,"fine"\nBob,"never closed\nstill open\n');
    expect(c.reason).toBe("invalid-csv");
    expect(c.line).toBe(3);
    expect(c.message).toBe(`"table.csv" line 3: a quoted field is never closed (missing '"').`);
  });

  it("files with no text at all", () => {
    expect(parseError("page.html", "<html><script>var a = 1;</script><style>p{}</style></html>").reason).toBe("no-text");
    expect(parseError("ids.json", '[{"id": "a1"}, {"id": "b2"}]').message).toMatch(/^"ids\.json": no text found in this JSON file/);
  });
});

describe("parsers keep the text and headings", () => {
  it("plain text: normalised line ends and blank lines", () => {
    const doc = parse("a.txt", "\uFEFFFirst line  \r\nsecond line\r\n\r\n\r\n\r\nThird paragraph\n");
    expect(doc.text).toBe("First line\nsecond line\n\nThird paragraph");
    expect(doc.outline).toEqual([]);
  });

  it("UTF-16 with a BOM", () => {
    const s = "Grüße aus Köln";
    const buf = new Uint8Array(2 + s.length * 2);
    buf[0] = 0xff;
    buf[1] = 0xfe;
    for (let i = 0; i < s.length; i++) {
      buf[2 + i * 2] = s.charCodeAt(i) & 0xff;
      buf[3 + i * 2] = s.charCodeAt(i) >> 8;
    }
    const doc = parse("greeting.txt", buf);
    expect(doc.encoding).toBe("utf-16le");
    expect(doc.text).toBe(s);
  });

  it("markdown: headings, front matter, code fences, links", () => {
    const md = [
      "---",
      "title: Field Guide",
      "tags: [a, b]",
      "---",
      "# Birds of the Marsh",
      "",
      "Intro with a [link](https://example.com) and **bold** and `code`.",
      "",
      "## Herons",
      "",
      "Tall waders. ![a heron](heron.png)",
      "",
      "```python",
      "# not a heading",
      "def f():  ",
      "    return 1",
      "```",
      "",
      "Egrets",
      "------",
      "",
      "| col | col2 |",
      "|-----|:----:|",
      "| a   | b    |",
      "",
      "### Closing ###",
      "> quoted line",
      "",
      "[ref]: https://example.com/ref",
    ].join("\n");
    const doc = parse("birds.md", md);
    expect(doc.title).toBe("Field Guide");
    expect(doc.outline.map((h) => [h.level, h.text])).toEqual([
      [1, "Birds of the Marsh"],
      [2, "Herons"],
      [2, "Egrets"],
      [3, "Closing"],
    ]);
    expectOutlineConsistent(doc);
    expect(doc.text).toContain("Intro with a link and bold and code.");
    expect(doc.text).toContain("Tall waders. a heron");
    expect(doc.text).toContain("# not a heading\ndef f():\n    return 1");
    expect(doc.text).toContain("| a   | b    |");
    expect(doc.text).not.toContain("|-----|");
    expect(doc.text).toContain("quoted line");
    expect(doc.text).not.toContain("https://");
    expect(doc.text).not.toContain("title: Field Guide");
  });

  it("html: text and headings kept, scripts/styles/comments dropped, entities decoded", () => {
    const html = `<!DOCTYPE html><html><head><title>Tea &amp; Co</title>
      <style>h1 { color: red } </style><script>if (a < b && c > d) { alert("</div>") }</script></head>
      <body><!-- hidden <h1>comment</h1> -->
      <h1 class="x>y">Green&nbsp;Tea</h1>
      <p>Steep at 80&deg;C for <b>2</b>&ndash;3 minutes. 5 < 6 &amp; "quotes" &#8364;10 &#x1F375;</p>
      <h2>Storage <small>tips</small></h2>
      <ul><li>Keep it dry</li><li>Away from light</li></ul>
      <table><tr><th>Tea</th><th>Temp</th></tr><tr><td>Sencha</td><td>75</td></tr></table>
      <pre>line 1
  line 2</pre>
      <img src="x.png" alt="A teapot">
      <noscript>enable JS</noscript><svg><text>svg text</text></svg>
      <p>Unclosed <span title='a > b'>attr</span> end</p>
      </body></html>`;
    const doc = parse("tea.html", html);
    expect(doc.title).toBe("Tea & Co");
    expect(doc.outline.map((h) => [h.level, h.text])).toEqual([
      [1, "Green Tea"], // nbsp collapses like any whitespace
      [2, "Storage tips"],
    ]);
    expectOutlineConsistent(doc);
    expect(doc.text).toContain("Steep at 80°C for 2–3 minutes. 5 < 6 & \"quotes\" €10 🍵");
    expect(doc.text).toContain("- Keep it dry\n- Away from light");
    expect(doc.text).toContain("Tea | Temp\nSencha | 75");
    expect(doc.text).toContain("line 1\n  line 2");
    expect(doc.text).toContain("A teapot");
    expect(doc.text).toContain("Unclosed attr end");
    for (const gone of ["alert", "color: red", "comment", "enable JS", "svg text", "DOCTYPE"]) expect(doc.text).not.toContain(gone);
  });

  it("html: hostile markup stays linear and safe", () => {
    const nasty = "<".repeat(50_000) + "<div " + "a=".repeat(20_000) + "<script>" + "x".repeat(10_000);
    const t0 = performance.now();
    expect(() => parse("nasty.html", `<p>ok</p>${nasty}`)).not.toThrow();
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("json: text fields, titles as headings, ids and vectors skipped, chat messages", () => {
    const doc = parse(
      "faq.json",
      JSON.stringify({
        title: "Widget FAQ",
        items: [
          { id: "q1", question: "How do I reset it?", answer: "Hold the button for ten seconds.", embedding: [0.1, 0.2] },
          { id: "q2", question: "Is it waterproof?", answer: "Only splash resistant.", user_id: "u-77", rating: 4 },
        ],
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" },
        ],
      }),
    );
    expect(doc.title).toBe("Widget FAQ");
    expect(doc.outline.map((h) => h.text)).toEqual(["Widget FAQ", "How do I reset it?", "Is it waterproof?"]);
    expectOutlineConsistent(doc);
    expect(doc.text).toContain("answer: Hold the button for ten seconds.");
    expect(doc.text).toContain("rating: 4");
    expect(doc.text).toContain("user: hi\nassistant: hello");
    expect(doc.text).not.toMatch(/q1|u-77|0\.1/);
  });

  it("jsonl: one record per line, empty lines skipped with a warning", () => {
    const doc = parse("train.jsonl", '{"text": "alpha beta"}\n\n{"prompt": "p", "completion": "c"}\n"just a string"\n');
    expect(doc.text).toBe("text: alpha beta\n\nprompt: p\ncompletion: c\n\njust a string");
    expect(doc.warnings).toEqual(["1 empty line skipped."]);
  });

  it("csv: header names the fields, quoted commas and newlines, TSV", () => {
    const doc = parse("people.csv", 'id,name,bio\n1,Ada,"Wrote the first program, 1843"\n2,"Grace ""Amazing"" Hopper","Compilers\nand COBOL"\n');
    expect(doc.text).toBe('name: Ada\nbio: Wrote the first program, 1843\n\nname: Grace "Amazing" Hopper\nbio: Compilers\nand COBOL');
    const semi = parse("eu.csv", "name;city\nJean;Paris\n");
    expect(semi.text).toBe("name: Jean\ncity: Paris");
    const tsv = parse("t.tsv", "a\tb\n1,5\t2\n");
    expect(tsv.text).toBe("a: 1,5\nb: 2");
  });
});
