// The public edge (widget + OpenAI-compatible API): deployments, API keys, quotas, visitor
// identity, origins, the public HTTP endpoints, and clientIp(). Route handlers in app/api/widget,
// app/w and app/v1 call the handlers below; the console manages deployments through server/api.
export { clientIp, resolveClientIp, trustedProxies } from "./client-ip";
export { normalizeAddress, PEER_HEADER, peerStamp } from "./peer";
export { deploymentPatch, deploymentSummaries, ensureDeployment, findDeployment, rotateIdentitySecret, updateDeployment, type DeploymentPatch } from "./deployments";
export { verifyIdentity } from "./identity";
export { createApiKey, listApiKeys, revokeApiKey, type ApiKeyView } from "./keys";
export { exportConversations, listPublicConversations, publicConversationMessages } from "./owner";
export { deployments, type DeploymentRow } from "./schema";
export { chatCompletions, chatFeedback, completionBodyLimit, listModels, unknownRoute, wrongMethod } from "./openai/http";
export { bodyTooLarge, declaredLength, formatLimit, readBodyBytes, readJsonBody } from "./body";
export { framePage } from "./widget/frame-page";
export { handleWidget } from "./widget/http";
