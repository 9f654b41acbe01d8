import type { RelayStatus, TargetStatus } from "./admin-types.js";
import { el } from "./dom.js";
import { formatAge, formatBytes, formatRate, formatTime } from "./format.js";
import { perSecond, type CounterSample } from "./rates.js";

const none = "–";

/** Fills the targets table: one row per target, rates against the previous status when there is one. */
export function renderTargets(tbody: HTMLTableSectionElement, status: RelayStatus, previous: RelayStatus | undefined): void {
  if (status.targets.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "No targets configured.")));
    return;
  }
  tbody.replaceChildren(
    ...status.targets.map((target) => {
      const before = previous?.targets.find((t) => t.target === target.target);
      const delivered = perSecond(sample(previous, before?.deliveredProfiles), { time: status.time, value: target.deliveredProfiles });
      return el(
        "tr",
        { "data-target": target.target },
        el("th", { scope: "row" }, target.target),
        // BullMQ keeps prioritized jobs apart from the wait list; both wait.
        number("waiting", target.jobs.waiting + target.jobs.prioritized),
        number("delayed", target.jobs.delayed),
        number("active", target.jobs.active),
        number("failed", target.jobs.failed, target.jobs.failed > 0 ? "bad" : undefined),
        backlogCell(target),
        el("td", { class: "num", "data-field": "oldest" }, target.oldestWaitingAgeMs === null ? none : formatAge(target.oldestWaitingAgeMs)),
        el(
          "td",
          { class: "num", "data-field": "delivered", title: `${target.deliveredProfiles} profiles delivered so far` },
          delivered === undefined ? none : formatRate(delivered),
          el("small", {}, ` ${target.deliveredProfiles} total`),
        ),
        circuitCell(target, status.time),
      );
    }),
  );
}

/** Fills the receivers table with this process's counters. */
export function renderReceivers(tbody: HTMLTableSectionElement, status: RelayStatus, previous: RelayStatus | undefined): void {
  const { receivers } = status.process;
  if (receivers.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "empty" }, "This process runs no receiver (a writer).")));
    return;
  }
  tbody.replaceChildren(
    ...receivers.map((receiver) => {
      const before = previous?.process.receivers.find((r) => r.receiver === receiver.receiver);
      const rate = (now: number, then: number | undefined) => {
        const value = perSecond(sample(previous, then), { time: status.time, value: now });
        return [value === undefined ? none : formatRate(value), el("small", {}, ` ${now} total`)];
      };
      return el(
        "tr",
        { "data-receiver": receiver.receiver },
        el("th", { scope: "row" }, receiver.receiver),
        el("td", { class: "num", "data-field": "received" }, ...rate(receiver.receivedProfiles, before?.receivedProfiles)),
        el("td", { class: "num", "data-field": "rejected" }, ...rate(receiver.rejectedRequests, before?.rejectedRequests)),
      );
    }),
  );
}

/** A counter's value in the previous status, if both are there. */
function sample(previous: RelayStatus | undefined, value: number | undefined): CounterSample | undefined {
  return previous === undefined || value === undefined ? undefined : { time: previous.time, value };
}

function number(name: string, value: number, className?: string): HTMLTableCellElement {
  return el("td", { class: className === undefined ? "num" : `num ${className}`, "data-field": name }, String(value));
}

function backlogCell({ backlog }: TargetStatus): HTMLTableCellElement {
  const bound = backlog.maxBytes;
  const text = bound === null ? formatBytes(backlog.bytes) : `${formatBytes(backlog.bytes)} of ${formatBytes(bound)}`;
  const profiles = backlog.maxProfiles === null ? `${backlog.profiles} profiles` : `${backlog.profiles} of ${backlog.maxProfiles} profiles`;
  // The fuller of the two bounds is the one that will refuse first.
  const fill = Math.max(bound === null ? 0 : backlog.bytes / bound, backlog.maxProfiles === null ? 0 : backlog.profiles / backlog.maxProfiles);
  return el(
    "td",
    { "data-field": "backlog", title: profiles },
    el("meter", { min: 0, max: 1, low: 0.5, high: 0.8, optimum: 0, value: Math.min(fill, 1) }),
    ` ${text}`,
  );
}

function circuitCell({ circuitOpenUntil }: TargetStatus, now: number): HTMLTableCellElement {
  if (circuitOpenUntil === null || circuitOpenUntil <= now) return el("td", { "data-field": "circuit" }, "closed");
  return el("td", { "data-field": "circuit", class: "bad" }, `open until ${formatTime(circuitOpenUntil, now)} (${formatAge(circuitOpenUntil - now)})`);
}
