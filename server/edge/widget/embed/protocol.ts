// Messages between the launcher (host page, public/widget.js) and the chat iframe (/w/PUBLIC_ID).
// Browser code: bundled by esbuild (server/edge/widget/embed/build.mjs), never imported by the server.

export type ToFrame =
  | { type: "init"; visitorId: string; conversationId: string | null; identity: string | null }
  | { type: "send"; text: string }
  | { type: "identify"; token: string | null }
  | { type: "focus" };

export type ToLauncher = { type: "ready" } | { type: "conversation"; id: string | null } | { type: "close" };

/** What GET /api/widget/PUBLIC_ID/config returns (see server/edge/widget/public.ts `config`). */
export type EmbedConfig = {
  title: string;
  color: string;
  avatar: string | null;
  position: "left" | "right";
  size: "small" | "medium" | "large";
  openOnLoad: boolean;
  greeting: string | null;
  starterQuestions: string[];
};

export const SIZES = { small: [340, 480], medium: [380, 600], large: [440, 720] } as const;
