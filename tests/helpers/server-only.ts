// Empty stand-in for the "server-only" guard when server modules run under vitest.
export {};
