import { describe, expect, it } from "vitest";
import {
  errorMessage,
  formatBackend,
  formatBytes,
  formatContext,
  formatParams,
  formatPercent,
  formatRelativeTime,
  formatStats,
  isAbortError,
  shortGpuName,
} from "@/app/_lib/format";

describe("formatStats", () => {
  it("renders the full stats line", () => {
    expect(formatStats({ tokensPerSecond: 12.34, ttftMs: 180.4, completionTokens: 42 })).toBe(
      "12.3 tok/s · 180 ms first token · 42 tokens",
    );
  });
  it("switches to seconds and singular forms", () => {
    expect(formatStats({ tokensPerSecond: 3, ttftMs: 1530, completionTokens: 1 })).toBe("3.0 tok/s · 1.5 s first token · 1 token");
  });
  it("skips unknown parts and is empty when nothing is known", () => {
    expect(formatStats({ tokensPerSecond: null, ttftMs: null, completionTokens: 7 })).toBe("7 tokens");
    expect(formatStats({ tokensPerSecond: null, ttftMs: null, completionTokens: null })).toBe("");
    expect(formatStats({ tokensPerSecond: Number.NaN, ttftMs: null, completionTokens: null })).toBe("");
  });
});

describe("model facts", () => {
  it("formats sizes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(4.37 * 1024 ** 3)).toBe("4.4 GiB");
    expect(formatBytes(null)).toBe("—");
  });
  it("formats parameter counts and context windows", () => {
    expect(formatParams(494_032_768)).toBe("494M");
    expect(formatParams(7_241_732_096)).toBe("7.2B");
    expect(formatParams(1_000_000_000)).toBe("1B");
    expect(formatParams(null)).toBe("—");
    expect(formatContext(8192)).toBe("8K");
    expect(formatContext(131072)).toBe("128K");
    expect(formatContext(1000)).toBe("1,000");
    expect(formatContext(0)).toBe("—");
  });
  it("formats progress percentages", () => {
    expect(formatPercent(50, 200)).toBe("25%");
    expect(formatPercent(300, 200)).toBe("100%");
    expect(formatPercent(10, null)).toBe("");
  });
});

describe("backend pill", () => {
  it("shows CPU threads", () => {
    expect(formatBackend({ backend: "cpu", gpuName: null, threads: 2 })).toBe("CPU · 2 threads");
    expect(formatBackend({ backend: "cpu", gpuName: null, threads: 1 })).toBe("CPU · 1 thread");
  });
  it("shows a short GPU name", () => {
    expect(formatBackend({ backend: "cuda", gpuName: "NVIDIA H100 80GB HBM3", threads: 16 })).toBe("CUDA · H100");
    expect(formatBackend({ backend: "vulkan", gpuName: null, threads: 4 })).toBe("VULKAN");
    expect(shortGpuName("NVIDIA GeForce RTX 4090")).toBe("RTX 4090");
    expect(shortGpuName("Apple M2 Max")).toBe("M2 Max");
    expect(shortGpuName("AMD Radeon RX 7900 XTX")).toBe("Radeon RX 7900 XTX");
  });
});

describe("misc", () => {
  it("formats relative times", () => {
    const now = 1_700_000_000_000;
    expect(formatRelativeTime(now - 10_000, now)).toBe("just now");
    expect(formatRelativeTime(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(formatRelativeTime(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(formatRelativeTime(now - 26 * 3_600_000, now)).toBe("yesterday");
  });
  it("extracts readable error messages", () => {
    expect(errorMessage(new Error("The network is unreachable."))).toBe("The network is unreachable.");
    const zod = Object.assign(new Error('[{"code":"too_big"}]'), { data: { zodError: ["title: Too long"] } });
    expect(errorMessage(zod)).toBe("title: Too long");
    expect(errorMessage(undefined)).toBe("Something went wrong.");
  });
  it("recognises aborts", () => {
    const ac = new AbortController();
    ac.abort();
    expect(isAbortError(new Error("x"), ac.signal)).toBe(true);
    expect(isAbortError(Object.assign(new Error("x"), { name: "AbortError" }))).toBe(true);
    expect(isAbortError(new Error("boom"))).toBe(false);
  });
});
