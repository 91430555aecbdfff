import { parseEnv } from "./server/env-schema.mjs";

// Fail fast on a bad environment (the same zod schema the server uses at runtime).
parseEnv(process.env);

/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native addons must be loaded by Node at runtime, never bundled. The document parsers are
  // large pure-JS libraries loaded lazily (unpdf imports its PDF.js build at run time): Node loads
  // them as is, exactly as in the tests, instead of re-bundling them.
  serverExternalPackages: ["node-llama-cpp", "better-sqlite3", "sqlite-vec", "@node-llama-cpp/linux-x64", "@node-llama-cpp/linux-x64-cuda", "unpdf", "mammoth"],
  reactStrictMode: true,
  poweredByHeader: false,
  devIndicators: false,
  outputFileTracingRoot: import.meta.dirname,
  // The app build checks app/ and server/ only; `npm test` type-checks everything (tests, bench).
  typescript: { tsconfigPath: "tsconfig.build.json" },
  // Only the widget's chat page (/w/…) may be framed, by its owner's allowlist (its own CSP);
  // every console page refuses framing (clickjacking).
  async headers() {
    return [
      {
        source: "/((?!w/).*)",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default nextConfig;
