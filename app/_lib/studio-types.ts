import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/api/root";
import type { UploadResult as DatasetUploadResult } from "@/server/studio";

/**
 * The studio's contract as the UI sees it, derived from the router (inputs and inferred outputs)
 * so there is one definition: server/studio/types.ts and the procedures in server/api/routers/studio.ts.
 * Type-only imports: nothing of the server reaches the browser bundle.
 */
type StudioIn = inferRouterInputs<AppRouter>["studio"];
type StudioOut = inferRouterOutputs<AppRouter>["studio"];
/** The events of a streamed procedure (an async generator on the server). */
type Streamed<T> = T extends AsyncIterable<infer E> ? E : never;

export type Goal = StudioIn["plan"]["goal"];
export type Method = StudioIn["plan"]["method"];
export type ScratchSize = NonNullable<StudioIn["plan"]["scratchSize"]>;
/** Every cleaning setting (the input lets each default; the wizard always sends them all). */
export type Cleaning = Required<StudioIn["plan"]["cleaning"]>;
export type DatasetKind = StudioOut["datasets"]["list"][number]["kind"];
export type RunStatus = StudioOut["runs"]["get"]["status"];
export type RunProgress = StudioOut["runs"]["get"]["progress"];
export type WatchEvent = Streamed<StudioOut["runs"]["watch"]>;
export type CompareEvent = Streamed<StudioOut["compare"]>;

/** One point of the loss chart: a stored run point or a live progress event (null loss: an eval-only step). */
export type LossPoint = Pick<StudioOut["runs"]["get"]["points"][number], "step"> & { loss: number | null; evalLoss?: number | null };

/** Body of POST /api/studio/datasets (a multipart route handler, not tRPC). */
export type UploadResult = DatasetUploadResult;

/** One refused file of an upload, from the route's error body `{ error: { code, message, file?, line?, problems? } }`. */
export interface UploadProblem {
  code: string;
  message: string;
  file?: string;
  line?: number;
}
