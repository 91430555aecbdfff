import "server-only";

/*
 * The improvement loop: reviewed conversations become training data. The review inbox (every
 * answer on every channel, filters, good / corrected / to an eval set / dismissed, PII scrubbed with
 * before and after, provenance), versioned improvement datasets built only from reviewed answers,
 * Retrain (the studio's plan continuing from the active version with a replay share) and the
 * deletion rule (a deleted conversation leaves datasets not yet trained on). The one entry point.
 */

export { inboxCounts, listInbox, type InboxItem } from "./inbox";
export { reviewAnswer, undoReview } from "./review";
export { chatTurns, createVersion, deleteConversationEverywhere, forgetConversation, listVersions, retrain, versionItems } from "./datasets";
export { scrub } from "./pii";
export * from "./types";
export { REVIEW_ACTIONS, type ReviewAction } from "./schema";
export { createExperiment, getExperiment, listExperiments, pickArm, promoteArm, readingOf, resolveArm, rollbackExperiment, stopExperiment, subjectOf } from "./experiments";
export { twoProportionP, wilson } from "./stats";
export { startLoop } from "./start";
