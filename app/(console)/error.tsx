"use client";

export default function ConsoleError({ error, retry }: { error: unknown; retry: () => void }) {
  const message = error instanceof Error && error.message ? error.message : "An unexpected error occurred.";
  return (
    <div role="alert" className="mx-auto max-w-md px-4 py-16 text-center">
      <h1 className="text-lg font-semibold">Something went wrong</h1>
      <p className="mt-2 break-words text-sm text-zinc-500">{message}</p>
      <button
        type="button"
        onClick={() => retry()}
        className="mt-6 rounded-lg bg-accent-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-700"
      >
        Try again
      </button>
    </div>
  );
}
