import type { Metadata } from "next";
import { currentSession } from "@/app/_lib/current-session";
import { UsersView } from "./_components/users-view";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const { session } = await currentSession();
  if (session?.user.role !== "admin") {
    return (
      <div className="p-6 text-sm text-zinc-600 dark:text-zinc-400" data-testid="users-forbidden">
        Only admins manage users. Ask an admin if you need a different role.
      </div>
    );
  }
  return <UsersView />;
}
