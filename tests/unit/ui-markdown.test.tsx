import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "@/app/_components/markdown";
import { safeUrl } from "@/app/_lib/safe-url";

const render = (text: string) => renderToString(<Markdown text={text} />);
/** Real element tags only: text content is escaped (&lt;), so it can't match. */
const tags = (html: string) => html.match(/<[a-z][^>]*>/gi) ?? [];
const tagNames = (html: string) => new Set(tags(html).map((t) => /^<([a-z0-9]+)/i.exec(t)![1]!.toLowerCase()));

describe("markdown sanitization", () => {
  it("never emits script elements or inline event handlers", () => {
    const html = render(
      [
        "Hello <script>alert(1)</script>",
        "",
        '<img src="x" onerror="alert(2)">',
        "",
        '<div onclick="alert(3)">click</div>',
        "",
        '<iframe src="https://evil.example"></iframe>',
        "",
        '<svg><script>alert(4)</script></svg>',
      ].join("\n"),
    );
    const names = tagNames(html);
    for (const bad of ["script", "img", "iframe", "svg"]) expect(names.has(bad)).toBe(false);
    for (const tag of tags(html)) expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
    // Raw HTML shows up as inert text instead.
    expect(html).toContain("&lt;script&gt;");
  });

  it("strips javascript:, data: and vbscript: URLs, including obfuscated ones", () => {
    const html = render(
      [
        "[a](javascript:alert(1))",
        "[b](JaVaScRiPt:alert(1))",
        "[c](java\tscript:alert(1))",
        "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[e](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
      ].join("\n\n"),
    );
    for (const tag of tags(html)) {
      expect(tag).not.toMatch(/javascript:|data:|vbscript:/i);
      expect(tag).not.toMatch(/href=""/);
    }
    // The unsafe links degrade to their plain label.
    expect(html).toContain("<span>a</span>");
  });

  it("opens safe links in a new tab without referrer or opener", () => {
    const html = render("See [docs](https://example.com/docs) and https://example.org");
    const anchors = html.match(/<a [^>]*>/g) ?? [];
    expect(anchors).toHaveLength(2);
    for (const a of anchors) {
      expect(a).toContain('target="_blank"');
      expect(a).toContain('rel="noopener noreferrer nofollow"');
    }
  });

  it("renders images as links instead of loading them", () => {
    const html = render('![tracking pixel](https://evil.example/p.png "t") ![x](javascript:alert(1))');
    expect(tagNames(html).has("img")).toBe(false);
    expect(html).toContain('href="https://evil.example/p.png"');
    expect(html).toContain("Image: tracking pixel");
    for (const tag of tags(html)) expect(tag).not.toMatch(/javascript:/i);
  });

  it("keeps GFM and highlights fenced code", () => {
    const html = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~\n\n```js\nconst x = 1;\n```");
    expect(html).toContain("<table>");
    expect(html).toContain("<del>");
    expect(html).toMatch(/class="hljs-keyword"/);
  });
});

describe("safeUrl", () => {
  it("allows http(s), mailto and relative URLs", () => {
    expect(safeUrl("https://example.com/a?b#c")).toBe("https://example.com/a?b#c");
    expect(safeUrl("mailto:a@example.com")).toBe("mailto:a@example.com");
    expect(safeUrl("/chat")).toBe("/chat");
    expect(safeUrl("#section")).toBe("#section");
  });
  it("rejects everything else", () => {
    for (const u of ["javascript:alert(1)", " javascript:alert(1)", "java\nscript:x", "data:text/html,x", "file:///etc/passwd", "vbscript:x"]) {
      expect(safeUrl(u)).toBe("");
    }
  });
});
