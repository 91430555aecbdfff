import type { Metadata } from "next";
import { CollectionsView } from "./_components/collections-view";

export const metadata: Metadata = { title: "Knowledge" };

export default function KnowledgePage() {
  return <CollectionsView />;
}
