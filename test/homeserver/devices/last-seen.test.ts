import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LastSeenRecorder } from "../../../src/homeserver/devices/last-seen.ts";
import type { LastSeen } from "../../../src/storage/stores/devices.ts";

function sink() {
  const batches: LastSeen[][] = [];
  return { batches, recordLastSeen: async (entries: readonly LastSeen[]) => void batches.push([...entries]) };
}

describe("LastSeenRecorder", () => {
  it("keeps the latest sighting per device and writes them as one batch", async () => {
    const s = sink();
    const recorder = new LastSeenRecorder(s, { flushIntervalMs: 0 });
    recorder.record("@a:hs", "A", "10.0.0.1", 100);
    recorder.record("@a:hs", "A", "10.0.0.2", 200);
    recorder.record("@a:hs", "A", "10.0.0.2", 150); // an older sighting does not win
    recorder.record("@b:hs", "B", "10.0.0.3", 300);
    assert.deepEqual(recorder.pendingFor("@a:hs", "A"), { userId: "@a:hs", deviceId: "A", ip: "10.0.0.2", ts: 200 });
    assert.equal(s.batches.length, 0, "nothing written per request");
    await recorder.flush();
    assert.equal(s.batches.length, 1);
    assert.deepEqual(s.batches[0]?.map((e) => [e.deviceId, e.ip, e.ts]), [["A", "10.0.0.2", 200], ["B", "10.0.0.3", 300]]);
    await recorder.flush();
    assert.equal(s.batches.length, 1, "an empty flush writes nothing");
    assert.equal(recorder.pendingFor("@a:hs", "A"), undefined);
  });

  it("forgets deleted devices, writes what is left at close, and reports write errors", async () => {
    const s = sink();
    const recorder = new LastSeenRecorder(s, { flushIntervalMs: 60_000 });
    recorder.record("@a:hs", "A", "ip", 1);
    recorder.record("@a:hs", "B", "ip", 1);
    recorder.forget("@a:hs", ["A"]);
    await recorder.close();
    assert.deepEqual(s.batches.map((b) => b.map((e) => e.deviceId)), [["B"]]);

    const errors: unknown[] = [];
    const failing = new LastSeenRecorder({ recordLastSeen: async () => Promise.reject(new Error("disk full")) }, { flushIntervalMs: 0, onError: (e) => errors.push(e) });
    failing.record("@a:hs", "A", "ip", 1);
    await failing.flush();
    assert.equal(errors.length, 1);
  });
});
