import type { Metadata } from "next";
import { DeployList } from "./_components/deploy-list";

export const metadata: Metadata = { title: "Deploy" };

export default function DeployPage() {
  return <DeployList />;
}
