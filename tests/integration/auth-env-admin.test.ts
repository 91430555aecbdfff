import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { users } from "@/server/db/auth-tables";
import { freshApp } from "../helpers/app";

afterAll(() => {
  delete process.env.ATELIER_ADMIN_EMAIL;
  delete process.env.ATELIER_ADMIN_PASSWORD;
});

describe("headless first admin", () => {
  it("ATELIER_ADMIN_EMAIL/PASSWORD create the admin at start, who can sign in; setup is then refused", async () => {
    const app = await freshApp({ ATELIER_ADMIN_EMAIL: "Ops@Example.test", ATELIER_ADMIN_PASSWORD: "from the environment" });
    const row = app.db.select().from(users).where(eq(users.email, "ops@example.test")).get();
    expect(row?.role).toBe("admin");
    const { checkCredentials } = await import("@/server/auth/login");
    expect((await checkCredentials(app.db, "ops@example.test", "from the environment", null)).ok).toBe(true);
    const anonymous = await app.callerAs(null);
    await expect(
      anonymous.auth.setup({ email: "late@example.test", name: "Late", password: "another long one", confirm: "another long one" }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
  });
});
