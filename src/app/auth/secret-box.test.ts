import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("SecretBox", () => {
  it("seals with AES-256-GCM so the stored value does not contain the secret, and opens it again", () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(SECRET);
    expect(sealed).toMatch(/^enc1:[0-9a-f]{8}:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(SECRET.slice(6));
    expect(sealed.length).toBeLessThanOrEqual(128); // the column's width
    expect(box.open(sealed)).toBe(SECRET);
    expect(box.seal(SECRET)).not.toBe(sealed); // a fresh IV each time
  });

  it("opens plain values stored before a key was configured and asks for them to be resealed", () => {
    const box = new SecretBox([randomBytes(32)]);
    expect(box.open(SECRET)).toBe(SECRET);
    expect(box.needsReseal(SECRET)).toBe(true);
    expect(box.needsReseal(box.seal(SECRET))).toBe(false);
  });

  it("rotates: the first key seals, older keys still open, values under them need a reseal", () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = new SecretBox([oldKey]).seal(SECRET);
    const rotated = new SecretBox([newKey, oldKey]);
    expect(rotated.open(sealedOld)).toBe(SECRET);
    expect(rotated.needsReseal(sealedOld)).toBe(true);
    expect(() => new SecretBox([newKey]).open(sealedOld)).toThrow(/does not list/);
  });

  it("refuses a tampered value", () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(SECRET);
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith("A") ? "B" : "A"}A`;
    expect(() => box.open(tampered)).toThrow();
  });

  it("stores as issued when no key is configured", () => {
    const box = new SecretBox([]);
    expect(box.seal(SECRET)).toBe(SECRET);
    expect(box.needsReseal(SECRET)).toBe(false);
  });
});
