import type { Metadata } from "next";
import { StudioOverview } from "./_components/studio-overview";

export const metadata: Metadata = { title: "Studio" };

export default function StudioPage() {
  return <StudioOverview />;
}
