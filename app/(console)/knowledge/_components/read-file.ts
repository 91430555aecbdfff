/** A browser File as base64 (what the knowledge upload and preview procedures take). */
export async function fileToBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  // In slices: String.fromCharCode(...all) overflows the call stack on large files.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The same check the server makes, before sending megabytes for nothing. */
export function oversizeMessage(file: File, maxBytes: number): string | null {
  return file.size > maxBytes ? `"${file.name}" is ${mib(file.size)}; the limit is ${mib(maxBytes)} per file.` : null;
}
