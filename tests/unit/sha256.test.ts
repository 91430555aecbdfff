import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Sha256 } from "@/app/_lib/sha256";

const node = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("incremental SHA-256 (browser uploads) against Node's crypto", () => {
  it("known vectors", () => {
    expect(new Sha256().update(new Uint8Array()).digestHex()).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(new Sha256().update(new TextEncoder().encode("abc")).digestHex()).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("any split of the input gives the same digest, at every padding boundary", () => {
    for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_001]) {
      const data = randomBytes(n);
      const h = new Sha256();
      for (let i = 0; i < n; ) {
        const step = 1 + ((i * 7919) % 97);
        h.update(data.subarray(i, i + step));
        i += step;
      }
      expect(h.digestHex(), `n=${n}`).toBe(node(data));
    }
  });
});
