import type { Metadata } from "next";
import { EvalsOverview } from "./_components/evals-overview";

export const metadata: Metadata = { title: "Evaluate" };

export default function EvalsPage() {
  return <EvalsOverview />;
}
