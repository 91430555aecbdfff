import type { Metadata } from "next";
import { ImproveList } from "./_components/improve-list";

export const metadata: Metadata = { title: "Improve" };

export default function ImprovePage() {
  return <ImproveList />;
}
