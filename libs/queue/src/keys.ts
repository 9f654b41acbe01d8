/**
 * Key layout. The hash tag `{<id>}` puts a payload and its pending set in the same Cluster slot, which
 * the release script (it touches both) needs; payloads spread over the slots by id. The prefix must
 * therefore contain no `{`, or its tag would put every key in one slot.
 */
export function payloadKey(prefix: string, payloadId: string): string {
  return `${prefix}:payload:{${payloadId}}`;
}

/** Set of the target names that still owe a delivery of the payload. */
export function pendingKey(prefix: string, payloadId: string): string {
  return `${payloadKey(prefix, payloadId)}:pending`;
}

/**
 * The BullMQ queue name of a target: `{<target name>}`. BullMQ builds every key of a queue as
 * `<prefix>:<queue name>:<suffix>` and its scripts touch many of them at once, so the name is a hash
 * tag of its own: one slot per target, targets spread over a Cluster. BullMQ rejects `:` in queue
 * names, and `{`/`}` would break the tag, so those (and `%`) are percent-encoded; `/` stays readable.
 */
export function queueNameFor(targetName: string): string {
  return `{${targetName.replace(/[%:{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`;
}

/**
 * Payload bytes of a target's backlog (jobs waiting, delayed or active), a counter under the queue's
 * own hash tag so that one script can read it together with BullMQ's state keys. BullMQ names job
 * keys `<prefix>:<queue>:<job id>` (ours are UUIDs), so the suffix cannot collide, and `obliterate`
 * removes it with the queue.
 */
export function backlogBytesKey(prefix: string, targetName: string): string {
  return `${prefix}:${queueNameFor(targetName)}:backlog-bytes`;
}
