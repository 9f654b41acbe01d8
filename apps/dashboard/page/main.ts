import "./style.css";
import { AdminClient, TokenRequiredError } from "./admin-client.js";
import type { FailedList, RelayStatus } from "./admin-types.js";
import { byId } from "./dom.js";
import { failedListStale } from "./failed-refresh.js";
import { renderFailed } from "./failed-view.js";
import { formatTime } from "./format.js";
import type { FilterPrefill } from "./operator-forms.js";
import { PurgeDialog } from "./purge-dialog.js";
import { refreshIntervalMs } from "./refresh-interval.js";
import { ReplayDialog } from "./replay-dialog.js";
import type { OperatorDialogContext } from "./two-step-dialog.js";
import { renderReceivers, renderTargets } from "./status-view.js";
import { TokenDeclinedError, TokenDialog } from "./token-dialog.js";

// Relative, so that the page also works behind a proxy that serves the ops server under a path.
const client = new AdminClient(new URL("api/v1/", location.href), sessionStorage);
const intervalMs = refreshIntervalMs(location.search);
const tokenDialog = new TokenDialog(byId("token-dialog"));

/**
 * Set when the operator dismisses the question a refresh asked: the refreshes stop asking until they
 * click "Enter the token…"; an operator's own Replay or Purge still asks.
 */
let tokenDeclined = false;

/** Runs an API call, asking for the token (unless `ask` is false) and trying again while the API answers 401. */
async function withToken<T>(call: () => Promise<T>, ask = true): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof TokenRequiredError) || !ask) throw error;
      client.setToken(await tokenDialog.ask(error.refused));
    }
  }
}

const context: OperatorDialogContext = {
  client,
  withToken,
  changed: (message) => {
    show(byId("notice"), message);
    failedReadAt = undefined;
    refreshSoon();
  },
};
const replayDialog = new ReplayDialog(byId("replay-dialog"), context);
const purgeDialog = new PurgeDialog(byId("purge-dialog"), context);

let previous: RelayStatus | undefined;
let failed: FailedList = { targets: [] };
/** When the failed list was read, on the status' clock; undefined to read it at the next refresh. */
let failedReadAt: number | undefined;
const targetNames = () => previous?.targets.map((t) => t.target) ?? [];
// Purge also reaches the targets a reload removed, which only the failed list names.
const purgeable = () => [
  ...targetNames().map((target) => failed.targets.find((s) => s.target === target) ?? { target, batches: 0, profiles: 0, reasons: [] }),
  ...failed.targets.filter((s) => s.removed),
];

const actions = {
  replay: (prefill: FilterPrefill) => replayDialog.open(targetNames(), prefill),
  purge: (prefill: FilterPrefill) => purgeDialog.open(purgeable(), prefill),
};
byId("replay-any").addEventListener("click", () => replayDialog.open(targetNames(), {}));
byId("purge-any").addEventListener("click", () => purgeDialog.open(purgeable(), {}));

let timer: ReturnType<typeof setTimeout> | undefined;
let refreshing = false;
let again = false;

/** The status, the failed list when it may have changed, then every table; rates compare with the previous status. */
async function refresh(): Promise<void> {
  clearTimeout(timer);
  refreshing = true;
  try {
    const status = await withToken(() => client.status(), !tokenDeclined);
    if (failedListStale(previous, status, failedReadAt)) {
      failed = await withToken(() => client.failed(), !tokenDeclined);
      failedReadAt = status.time;
    }
    renderTargets(byId("targets").querySelector("tbody")!, status, previous);
    renderReceivers(byId("receivers").querySelector("tbody")!, status, previous);
    renderFailed(byId("failed").querySelector("tbody")!, failed, status.time, actions);
    previous = status;
    byId("updated").textContent = `Updated ${formatTime(status.time, status.time)}, every ${intervalMs / 1_000}s`;
    byId("problem").hidden = true;
    byId("token-needed").hidden = true;
    // A token given anywhere (a Replay's question, say) works: a later 401 asks again.
    tokenDeclined = false;
    // Their target lists come from the status.
    for (const id of ["replay-any", "purge-any"]) byId<HTMLButtonElement>(id).disabled = false;
  } catch (error) {
    // A refresh that did not ask (it began before "Enter the token…") leaves the choice as it is.
    if (error instanceof TokenDeclinedError || error instanceof TokenRequiredError) {
      if (error instanceof TokenDeclinedError) tokenDeclined = true;
      byId("problem").hidden = true;
      byId("token-needed").hidden = false;
    } else {
      show(byId("problem"), `Cannot read the relay's state: ${(error as Error).message}`);
    }
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      void refresh();
    } else {
      timer = setTimeout(() => void refresh(), intervalMs);
    }
  }
}

/** At once, or right after the refresh in flight (which may have read the state before the change). */
function refreshSoon(): void {
  if (refreshing) again = true;
  else void refresh();
}

function show(element: HTMLElement, message: string): void {
  element.textContent = message;
  element.hidden = false;
}

byId("enter-token").addEventListener("click", () => {
  tokenDeclined = false;
  refreshSoon();
});

void refresh();
