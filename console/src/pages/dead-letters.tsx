import { useState } from "preact/hooks";
import { type DeadLetterFilter, ResolutionFilter } from "../../../gen/herald/v1/dead_letter_service_pb.js";
import { api, errorText } from "../api.js";
import { count, when } from "../format.js";
import { ConfirmDialog, DataTable, ErrorLine, Progress, usePoll } from "../ui.js";

const PAGE_SIZE = 50;
/** Dead letters replayed or resolved per call of a long operation (each call is one short transaction). */
const BATCH = 200;
const REASONS = ["MAX_ATTEMPTS", "EXPIRED", "GONE", "SUBSCRIPTION_DELETED"];

type Pending =
  | { kind: "replay-selected" | "resolve-selected"; ids: bigint[] }
  | { kind: "replay-all"; total: number }
  | { kind: "purge"; total: number };

/**
 * Replays or resolves `ids`, or every unresolved dead letter matching `filter`, in batches, so a
 * long operation shows how far it got (and a closed tab stops after the current batch).
 */
async function runInBatches(
  pending: Pending,
  filter: DeadLetterFilter,
  onProgress: (done: number) => void,
): Promise<number> {
  let done = 0;
  if (pending.kind === "replay-selected" || pending.kind === "resolve-selected") {
    for (let i = 0; i < pending.ids.length; i += BATCH) {
      const ids = pending.ids.slice(i, i + BATCH);
      done +=
        pending.kind === "replay-selected"
          ? Number((await api.deadLetters.replayDeadLetters({ ids, resolvedBy: "console" })).replayedCount)
          : Number((await api.deadLetters.resolveDeadLetters({ ids, resolvedBy: "console" })).resolvedCount);
      onProgress(done);
    }
    return done;
  }
  // Replay-all: each round lists the first unresolved batch again (replayed ones are resolved now).
  const unresolved = { ...filter, resolution: ResolutionFilter.UNRESOLVED };
  for (;;) {
    const page = await api.deadLetters.listDeadLetters({ filter: unresolved, pageSize: BATCH });
    if (page.deadLetters.length === 0) return done;
    const { replayedCount } = await api.deadLetters.replayDeadLetters({
      ids: page.deadLetters.map((d) => d.id),
      resolvedBy: "console",
    });
    if (replayedCount === 0n) return done;
    done += Number(replayedCount);
    onProgress(done);
  }
}

export function DeadLettersPage(props: { subscription: string }) {
  const [subscription, setSubscription] = useState(props.subscription);
  const [resolution, setResolution] = useState(ResolutionFilter.UNRESOLVED);
  const [reason, setReason] = useState("");
  const [pageTokens, setPageTokens] = useState<string[]>([""]);
  const [selected, setSelected] = useState<Set<bigint>>(new Set());
  const [pending, setPending] = useState<Pending | undefined>(undefined);
  const [progress, setProgress] = useState<{ label: string; done?: number; total: number } | undefined>();
  const [message, setMessage] = useState("");
  const [actionError, setActionError] = useState("");
  const filter: DeadLetterFilter = {
    $typeName: "herald.v1.DeadLetterFilter",
    subscription,
    resolution,
    failureReason: reason,
  };
  const pageToken = pageTokens[pageTokens.length - 1] ?? "";
  const subs = usePoll(() => api.admin.listSubscriptions({ pageSize: 1000 }), 0, []);
  const list = usePoll(
    () => api.deadLetters.listDeadLetters({ filter, pageSize: PAGE_SIZE, pageToken }),
    10_000,
    [subscription, resolution, reason, pageToken],
  );
  const stats = usePoll(() => api.deadLetters.getDeadLetterStats({ subscription }), 10_000, [subscription]);
  const refilter = (apply: () => void) => {
    apply();
    setPageTokens([""]);
    setSelected(new Set());
  };
  const toggle = (id: bigint) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const run = (p: Pending) => {
    setPending(undefined);
    setActionError("");
    setMessage("");
    const label = p.kind.startsWith("resolve") ? "Resolving" : p.kind === "purge" ? "Purging" : "Replaying";
    const total = "ids" in p ? p.ids.length : p.total;
    setProgress(p.kind === "purge" ? { label, total } : { label, done: 0, total });
    const work =
      p.kind === "purge"
        ? api.deadLetters
            .purgeDeadLetters({ subscription, includeUnresolved: false })
            .then((r) => Number(r.purgedCount))
        : runInBatches(p, filter, (done) => setProgress({ label, done, total }));
    work.then(
      (done) => {
        setProgress(undefined);
        setSelected(new Set());
        setMessage(`${label.replace(/ing$/, "ed")} ${done} dead letter(s).`);
        list.reload();
        stats.reload();
      },
      (e: unknown) => {
        setProgress(undefined);
        setActionError(errorText(e));
        list.reload();
      },
    );
  };
  const items = list.data?.deadLetters ?? [];
  const unresolvedTotal = Number(stats.data?.stats?.unresolvedItems ?? 0n);
  const resolvedTotal = Number(stats.data?.stats?.resolvedItems ?? 0n);
  return (
    <>
      <h1>Dead letters</h1>
      <p>
        {count(stats.data?.stats?.unresolvedItems ?? 0n)} unresolved,{" "}
        {count(stats.data?.stats?.resolvedItems ?? 0n)} resolved{subscription ? ` in ${subscription}` : ""}
        {stats.data?.stats?.topFailureReason ? `; most often ${stats.data.stats.topFailureReason}` : ""}.
      </p>
      <form class="filters" aria-label="Filter dead letters" onSubmit={(e) => e.preventDefault()}>
        <label for="dl-subscription">
          Subscription{" "}
          <select
            id="dl-subscription"
            value={subscription}
            onChange={(e) => refilter(() => setSubscription(e.currentTarget.value))}
          >
            <option value="">all</option>
            {(subs.data?.subscriptions ?? []).map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label for="dl-resolution">
          State{" "}
          <select
            id="dl-resolution"
            value={String(resolution)}
            onChange={(e) => refilter(() => setResolution(Number(e.currentTarget.value)))}
          >
            <option value={String(ResolutionFilter.UNRESOLVED)}>unresolved</option>
            <option value={String(ResolutionFilter.RESOLVED)}>resolved</option>
            <option value={String(ResolutionFilter.UNSPECIFIED)}>all</option>
          </select>
        </label>
        <label for="dl-reason">
          Reason{" "}
          <select
            id="dl-reason"
            value={reason}
            onChange={(e) => refilter(() => setReason(e.currentTarget.value))}
          >
            <option value="">all</option>
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      </form>
      <div class="actions">
        <button
          type="button"
          disabled={selected.size === 0 || progress !== undefined}
          onClick={() => setPending({ kind: "replay-selected", ids: [...selected] })}
        >
          Replay selected ({selected.size})
        </button>
        <button
          type="button"
          disabled={selected.size === 0 || progress !== undefined}
          onClick={() => setPending({ kind: "resolve-selected", ids: [...selected] })}
        >
          Resolve selected ({selected.size})
        </button>
        <button
          type="button"
          disabled={subscription === "" || unresolvedTotal === 0 || progress !== undefined}
          title={subscription === "" ? "Choose a subscription first" : undefined}
          onClick={() => setPending({ kind: "replay-all", total: unresolvedTotal })}
        >
          Replay all unresolved{subscription ? ` of ${subscription}` : ""}
        </button>
        <button
          type="button"
          class="danger"
          disabled={resolvedTotal === 0 || progress !== undefined}
          onClick={() => setPending({ kind: "purge", total: resolvedTotal })}
        >
          Purge resolved
        </button>
      </div>
      {progress && <Progress {...progress} />}
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <ErrorLine error={list.error || actionError} />
      {pending && (
        <ConfirmDialog
          title="Please confirm"
          confirmLabel={
            pending.kind.startsWith("resolve") ? "Resolve" : pending.kind === "purge" ? "Purge" : "Replay"
          }
          onCancel={() => setPending(undefined)}
          onConfirm={() => run(pending)}
        >
          <p data-testid="confirm-text">
            {pending.kind === "replay-selected" &&
              `Replay ${pending.ids.length} dead letter(s) to their subscriptions?`}
            {pending.kind === "resolve-selected" &&
              `Mark ${pending.ids.length} dead letter(s) resolved without redelivery?`}
            {pending.kind === "replay-all" &&
              `Replay all ${pending.total} unresolved dead letter(s) of ${subscription}?`}
            {pending.kind === "purge" &&
              `Delete ${pending.total} resolved dead letter(s)${subscription ? ` of ${subscription}` : ""} for good?`}
          </p>
        </ConfirmDialog>
      )}
      <DataTable
        caption="Dead letters"
        columns={["Select", "Id", "Subscription", "Reason", "Attempts", "Last error", "Moved", "State"]}
      >
        {items.map((d) => (
          <tr key={String(d.id)} data-testid={`dead-letter-${d.id}`}>
            <td>
              <input
                type="checkbox"
                aria-label={`Select dead letter ${d.id}`}
                checked={selected.has(d.id)}
                onChange={() => toggle(d.id)}
              />
            </td>
            <td>
              <a href={`#/dead-letters/${d.id}`}>{String(d.id)}</a>
            </td>
            <td>{d.subscription}</td>
            <td>{d.failureReason}</td>
            <td>{d.attemptCount}</td>
            <td class="wrap">{d.lastError}</td>
            <td>{when(d.movedTime)}</td>
            <td>{d.resolved ? `resolved (${d.resolvedBy})` : "unresolved"}</td>
          </tr>
        ))}
      </DataTable>
      {items.length === 0 && !list.error && <p>No dead letters match.</p>}
      <div class="pager">
        <button
          type="button"
          disabled={pageTokens.length <= 1}
          onClick={() => setPageTokens(pageTokens.slice(0, -1))}
        >
          Previous page
        </button>
        <button
          type="button"
          disabled={!list.data?.nextPageToken}
          onClick={() => setPageTokens([...pageTokens, list.data?.nextPageToken ?? ""])}
        >
          Next page
        </button>
      </div>
    </>
  );
}
