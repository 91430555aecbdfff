/*
 * Generated hostile input for the fuzz pass: a seeded random source (so a failure can be
 * replayed), nasty values of every JSON type, shapes that follow a procedure's zod schema with
 * one field broken, and raw bodies that are not JSON at all.
 */

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "\ud800", // a lone surrogate (not valid UTF-16)
  "\udfff\ud800",
  "\u202eevil\u202c", // right-to-left override
  "\ufeffBOM",
  "👩‍👩‍👧‍👦🏳️‍🌈",
  "Z̸̡̢͓̬͑̈́͌a̴̧̛͕̓l̵͇̐g̶̨̈́o̷͕͗",
  "ﷺ",
  "\r\n\r\nHTTP/1.1 200 OK\r\n",
  "<script>alert(1)</script>",
  "' OR 1=1; DROP TABLE users; --",
  "../../../../etc/passwd",
  "/proc/self/mem",
  "%00%ff%fe",
  "${jndi:ldap://x/a}",
  "__proto__",
  "constructor",
  "null",
  "NaN",
  "-0",
  "1e309",
  "asst_AAAAAAAAAAAAAAAA",
  "a".repeat(5_000),
  "é".repeat(40_000),
  "{".repeat(10_000),
];

/** JSON text of arrays nested `depth` deep (built as text: no stack is used to make it). */
export const deepJson = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

export function nastyValue(r: Rng): unknown {
  const kinds = [
    () => pick(r, NASTY_STRINGS),
    () => pick(r, [null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -1e308, 1e308, 4294967296]),
    () => [],
    () => ({}),
    () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(r, NASTY_STRINGS)),
    () => JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
    () => Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])),
    () => Array.from({ length: 5000 }, (_, i) => i),
    () => JSON.parse(deepJson(200)),
  ];
  return pick(r, kinds)();
}

type ZodLike = { _zod?: { def: Record<string, unknown> }; def?: Record<string, unknown> };

/**
 * A value that follows a zod schema (zod 4 internals, read defensively): objects get every key,
 * strings one of `strings`, numbers a small integer, enums and literals their first value.
 */
export function sample(schema: unknown, r: Rng, strings: readonly string[], depth = 0): unknown {
  const def = (schema as ZodLike)?._zod?.def ?? (schema as ZodLike)?.def;
  if (!def || depth > 8) return null;
  switch (def.type) {
    case "object":
      return Object.fromEntries(Object.entries(def.shape as Record<string, unknown>).map(([k, s]) => [k, sample(s, r, strings, depth + 1)]));
    case "string":
      return pick(r, strings);
    case "number":
    case "int":
      return pick(r, [0, 1, 2, 5, 20]);
    case "boolean":
      return r() < 0.5;
    case "enum":
      return pick(r, Object.values(def.entries as Record<string, unknown>));
    case "literal":
      return pick(r, def.values as unknown[]);
    case "array":
      return [sample(def.element, r, strings, depth + 1)];
    case "union":
      return sample(pick(r, def.options as unknown[]), r, strings, depth + 1);
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return sample(def.innerType, r, strings, depth + 1);
    case "pipe":
      return sample(def.in, r, strings, depth + 1);
    case "record":
      return { key: sample(def.valueType, r, strings, depth + 1) };
    default:
      return null;
  }
}

/** `value` with one field (at any depth) replaced by a nasty value, or the whole value replaced. */
export function breakOne(value: unknown, r: Rng): unknown {
  if (value === null || typeof value !== "object" || r() < 0.15) return nastyValue(r);
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return nastyValue(r);
  const k = pick(r, keys);
  copy[k] = r() < 0.5 ? nastyValue(r) : breakOne(copy[k], r);
  return copy;
}

/** A body that is not what any endpoint expects: random bytes, broken UTF-8, truncated JSON. */
export function rawBody(r: Rng): Uint8Array<ArrayBuffer> | string {
  const kinds: Array<() => Uint8Array<ArrayBuffer> | string> = [
    () => Uint8Array.from({ length: 1 + Math.floor(r() * 2048) }, () => Math.floor(r() * 256)),
    () => new Uint8Array([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc]),
    () => '{"email": "a@b.c", "password": ',
    () => deepJson(100_000),
    () => "",
    () => "\u0000".repeat(100),
    () => `[${"1,".repeat(20_000)}1]`,
  ];
  return pick(r, kinds)();
}
