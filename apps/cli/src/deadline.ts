/** Work that did not end in the time it was given. */
export class DeadlineError extends Error {
  override readonly name = "DeadlineError";
}

/**
 * `work`'s outcome, or a DeadlineError saying "`what` within N s" once `ms` have passed; the work
 * itself goes on (a command sent to Redis cannot be taken back).
 */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
