import type { FailedList } from "./admin-types.js";
import { el } from "./dom.js";
import { formatTime } from "./format.js";
import type { FilterPrefill } from "./operator-forms.js";

export interface FailedActions {
  replay(prefill: FilterPrefill): void;
  purge(prefill: FilterPrefill): void;
}

/** Fills the failed table: a row per target and reason, with buttons that open the prefilled dialogs. */
export function renderFailed(tbody: HTMLTableSectionElement, failed: FailedList, now: number, actions: FailedActions): void {
  const rows = failed.targets.flatMap((summary) =>
    summary.reasons.map((reason) => {
      // That row alone: its reason whole (not `http 422 <code>` with `http 422`), and its status.
      const prefill: FilterPrefill = {
        target: summary.target,
        reason: reason.reason,
        exactReason: true,
        ...(reason.status === undefined ? {} : { status: reason.status }),
      };
      const replay = el(
        "button",
        { type: "button", disabled: summary.removed === true, title: summary.removed ? "the target was removed from the configuration" : undefined },
        "Replay…",
      );
      replay.addEventListener("click", () => actions.replay(prefill));
      const purge = el("button", { type: "button", class: "danger" }, "Purge…");
      purge.addEventListener("click", () => actions.purge(prefill));
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
