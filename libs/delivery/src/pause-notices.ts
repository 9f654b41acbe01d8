/**
 * Which reports of a target's queue pauses are news for the log: every job that meets a pause
 * reports it (up to 4 per queue shard at once, each with its own jitter), and a target that answered
 * 503 for 12 s filled the log with 52 warnings of the same few pauses. A pause is news when the one
 * last shown is over, or when it lasts at least twice what is left of that one (the target asked for
 * an hour, say).
 */
export class PauseNotices {
  private shownUntil = Number.NEGATIVE_INFINITY;

  /** Whether a pause of `pauseMs` reported at `now` (ms) is news; if so it is the one shown from now on. */
  news(now: number, pauseMs: number): boolean {
    if (now < this.shownUntil && pauseMs < 2 * (this.shownUntil - now)) return false;
    this.shownUntil = now + pauseMs;
    return true;
  }
}
