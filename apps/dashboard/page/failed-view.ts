import type { FailedList } from "./admin-types.js";
import { el } from "./dom.js";
import { formatTime } from "./format.js";

export interface FailedActions {
  replay(prefill: { target: string; reason: string; status?: number }): void;
  purge(prefill: { target: string; reason: string; status?: number }): void;
}

/** Fills the failed table: a row per target and reason, with buttons that open the prefilled dialogs. */
export function renderFailed(tbody: HTMLTableSectionElement, failed: FailedList, now: number, actions: FailedActions): void {
  const rows = failed.targets.flatMap((summary) =>
    summary.reasons.map((reason) => {
      const replay = el(
        "button",
        { type: "button", disabled: summary.removed === true, title: summary.removed ? "the target was removed from the configuration" : undefined },
        "Replay…",
      );
      replay.addEventListener("click", () =>
        actions.replay({ target: summary.target, reason: reason.reason, ...(reason.status === undefined ? {} : { status: reason.status }) }),
      );
      const purge = el("button", { type: "button", class: "danger" }, "Purge…");
      purge.addEventListener("click", () =>
        actions.purge({ target: summary.target, reason: reason.reason, ...(reason.status === undefined ? {} : { status: reason.status }) }),
      );
      return el(
        "tr",
        { "data-target": summary.target, "data-reason": reason.reason },
        el("th", { scope: "row" }, summary.target, summary.removed ? el("small", {}, " (removed)") : ""),
        el("td", { "data-field": "reason" }, reason.reason),
        el("td", { class: "num", "data-field": "batches" }, String(reason.batches)),
        el("td", { class: "num", "data-field": "profiles" }, String(reason.profiles)),
        el("td", {}, formatTime(reason.oldestAt, now)),
        el("td", {}, formatTime(reason.newestAt, now)),
        el("td", { class: "detail", "data-field": "detail" }, el("code", {}, reason.lastDetail)),
        el("td", {}, el("div", { class: "row-actions" }, replay, purge)),
      );
    }),
  );
  tbody.replaceChildren(...(rows.length > 0 ? rows : [el("tr", {}, el("td", { colspan: 8, class: "empty" }, "No failed deliveries."))]));
}
