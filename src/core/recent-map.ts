// A Map used as a bounded cache, most recently remembered last (Maps keep insertion order).

/** Puts `key` last with `value`, then drops the least recent entries past `max`. */
export function rememberRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
  }
}
