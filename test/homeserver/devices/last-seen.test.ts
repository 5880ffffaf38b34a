import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LastSeenRecorder } from "../../../src/homeserver/devices/last-seen.ts";
import type { LastSeen } from "../../../src/storage/stores/devices.ts";

const from = (ip: string, userAgent?: string) => ({ ip, userAgent });

function sink() {
  const batches: LastSeen[][] = [];
  return { batches, recordLastSeen: async (entries: readonly LastSeen[]) => void batches.push([...entries]) };
}

describe("LastSeenRecorder", () => {
  it("keeps the latest sighting per device and writes them as one batch", async () => {
    const s = sink();
    const recorder = new LastSeenRecorder(s, { flushIntervalMs: 0 });
    recorder.record("@a:hs", "A", from("10.0.0.1"), 100);
    recorder.record("@a:hs", "A", from("10.0.0.2"), 200);
    recorder.record("@a:hs", "A", from("10.0.0.2"), 150); // an older sighting does not win
    recorder.record("@a:hs", "A", from("10.0.0.2", "Element/1.11"), 200); // the same moment with another client does
    recorder.record("@b:hs", "B", from("10.0.0.3"), 300);
    assert.deepEqual(recorder.pendingFor("@a:hs", "A"), { userId: "@a:hs", deviceId: "A", ip: "10.0.0.2", userAgent: "Element/1.11", ts: 200 });
    assert.equal(s.batches.length, 0, "nothing written per request");
    await recorder.flush();
    assert.equal(s.batches.length, 1);
    assert.deepEqual(s.batches[0]?.map((e) => [e.deviceId, e.ip, e.ts]), [["A", "10.0.0.2", 200], ["B", "10.0.0.3", 300]]);
    assert.deepEqual(s.batches[0]?.map((e) => e.userAgent), ["Element/1.11", null]);
    await recorder.flush();
    assert.equal(s.batches.length, 1, "an empty flush writes nothing");
    assert.equal(recorder.pendingFor("@a:hs", "A"), undefined);
  });

  it("forgets deleted devices, writes what is left at close, and reports write errors", async () => {
    const s = sink();
    const recorder = new LastSeenRecorder(s, { flushIntervalMs: 60_000 });
    recorder.record("@a:hs", "A", from("ip"), 1);
    recorder.record("@a:hs", "B", from("ip"), 1);
    recorder.forget("@a:hs", ["A"]);
    await recorder.close();
    assert.deepEqual(s.batches.map((b) => b.map((e) => e.deviceId)), [["B"]]);

    const errors: unknown[] = [];
    const failing = new LastSeenRecorder({ recordLastSeen: async () => Promise.reject(new Error("disk full")) }, { flushIntervalMs: 0, onError: (e) => errors.push(e) });
    failing.record("@a:hs", "A", from("ip"), 1);
    await failing.flush();
    assert.equal(errors.length, 1);
  });
});
