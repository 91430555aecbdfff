import type { Metadata } from "next";
import { CollectionView } from "../_components/collection-view";

export const metadata: Metadata = { title: "Knowledge collection" };

export default async function CollectionPage({ params }: { params: Promise<{ collectionId: string }> }) {
  const { collectionId } = await params;
  return <CollectionView key={collectionId} collectionId={collectionId} />;
}
