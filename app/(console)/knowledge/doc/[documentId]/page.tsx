import type { Metadata } from "next";
import { DocumentView } from "../../_components/document-view";

export const metadata: Metadata = { title: "Knowledge document" };

export default async function DocumentPage({ params }: { params: Promise<{ documentId: string }> }) {
  const { documentId } = await params;
  return <DocumentView key={documentId} documentId={documentId} />;
}
