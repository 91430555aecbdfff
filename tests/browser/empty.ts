// Stand-in for "server-only" when browser tests import shared code in Node.
export {};
