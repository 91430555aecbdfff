import type { Metadata } from "next";
import { SetEditor } from "./_components/set-editor";

export const metadata: Metadata = { title: "Eval set" };

export default async function EvalSetPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <SetEditor key={id} id={id} />;
}
