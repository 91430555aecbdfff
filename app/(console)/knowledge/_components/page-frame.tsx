import Link from "next/link";
import type { ReactNode } from "react";

/** The scrolling page of the knowledge screens, with a breadcrumb back to /knowledge (and the collection). */
export function KnowledgeFrame({ wide, root, collectionId, children }: { wide?: boolean; root?: boolean; collectionId?: string | null; children: ReactNode }) {
  return (
    <div className="h-full overflow-y-auto">
      <div className={`mx-auto ${wide ? "max-w-5xl" : "max-w-3xl"} px-4 py-8 sm:px-6`}>
        {!root && (
          <nav className="text-xs text-zinc-500" aria-label="Breadcrumb">
            <Link href="/knowledge" className="hover:underline">
              Knowledge
            </Link>
            {collectionId && (
              <>
                {" / "}
                <Link href={`/knowledge/${collectionId}`} className="hover:underline">
                  Collection
                </Link>
              </>
            )}
          </nav>
        )}
        {children}
      </div>
    </div>
  );
}
