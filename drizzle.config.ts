import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: ["./server/db/schema.ts", "./server/knowledge/schema.ts", "./server/db/auth-tables.ts", "./server/edge/schema.ts", "./server/studio/schema.ts", "./server/evals/schema.ts", "./server/loop/schema.ts", "./server/nodes/schema.ts", "./server/studio/remote/schema.ts"],
  out: "./drizzle",
});
