import type { Metadata } from "next";
import { NewRunWizard } from "./_components/new-run-wizard";

export const metadata: Metadata = { title: "New training" };

export default function NewTrainingPage() {
  return <NewRunWizard />;
}
