import type { SubscriptionSummary } from "../../../gen/herald/v1/console_service_pb.js";
import { DeliveryType } from "../../../gen/herald/v1/resources_pb.js";
import { api } from "../api.js";
import { DeliveryChart } from "../chart.js";
import { age, count } from "../format.js";
import { DataTable, ErrorLine, usePoll } from "../ui.js";

const REFRESH_MS = 5_000;

/** A subscription needs attention when paused, when its endpoint is failing, or when it failed deliveries lately. */
export function subscriptionState(s: SubscriptionSummary): { label: string; className: string } {
  const sub = s.subscription;
  if (sub?.pauseTime)
    return { label: `paused${sub.pauseReason ? `: ${sub.pauseReason}` : ""}`, className: "paused" };
  if (sub?.pushFailingSince) return { label: "endpoint failing", className: "failing" };
  if (s.stats && s.stats.failedLastHour > 0n)
    return { label: "failures in the last hour", className: "failing" };
  return { label: "ok", className: "" };
}

export function SubscriptionTable(props: { summaries: readonly SubscriptionSummary[]; linkPrefix: string }) {
  return (
    <DataTable
      caption="Subscriptions and their queues"
      columns={[
        "Subscription",
        "Topic",
        "Type",
        "Backlog",
        "In flight",
        "Retrying",
        "Oldest unacked",
        "Sent / failed (1 h)",
        "Dead letters",
        "State",
      ]}
    >
      {props.summaries.map((s) => {
        const sub = s.subscription;
        const st = s.stats;
        const state = subscriptionState(s);
        return (
          <tr key={String(sub?.id)} class={state.className} data-testid={`subscription-row-${sub?.name}`}>
            <th scope="row">
              <a href={`${props.linkPrefix}${encodeURIComponent(sub?.name ?? "")}`}>{sub?.name}</a>
            </th>
            <td>{sub?.topic}</td>
            <td>{sub?.deliveryType === DeliveryType.PUSH ? "push" : "pull"}</td>
            <td data-testid="backlog">{count(st?.backlog ?? 0n)}</td>
            <td>{count(st?.inFlight ?? 0n)}</td>
            <td>{count(st?.waitingForRetry ?? 0n)}</td>
            <td>{age(st?.oldestUnackedAgeSeconds ?? 0n)}</td>
            <td>
              {count(st?.sentLastHour ?? 0n)} / {count(st?.failedLastHour ?? 0n)}
            </td>
            <td data-testid="dead-letters">{count(st?.deadLettersUnresolved ?? 0n)}</td>
            <td>{state.label}</td>
          </tr>
        );
      })}
    </DataTable>
  );
}

export function OverviewPage() {
  const subs = usePoll(() => api.console.listCallerSubscriptions({ pageSize: 100 }), REFRESH_MS, []);
  const history = usePoll(() => api.console.getDeliveryHistory({ minutes: 60 }), REFRESH_MS, []);
  const topics = usePoll(() => api.admin.listTopics({ pageSize: 1000 }), REFRESH_MS, []);
  const dlq = usePoll(() => api.deadLetters.getDeadLetterStats({}), REFRESH_MS, []);
  const summaries = subs.data?.subscriptions ?? [];
  const attention = summaries.filter((s) => subscriptionState(s).className !== "").length;
  return (
    <>
      <h1>Overview</h1>
      <ErrorLine error={subs.error || history.error || topics.error || dlq.error} />
      <section class="tiles" aria-label="Totals">
        <div class="tile">
          <span class="figure">{topics.data?.topics.length ?? "…"}</span> topics
        </div>
        <div class="tile">
          <span class="figure">{summaries.length}</span> subscriptions
        </div>
        <div class="tile">
          <span class="figure" data-testid="total-backlog">
            {count(summaries.reduce((sum, s) => sum + (s.stats?.backlog ?? 0n), 0n))}
          </span>{" "}
          messages waiting
        </div>
        <div class={`tile ${attention > 0 ? "failing" : ""}`}>
          <span class="figure">{attention}</span> need attention
        </div>
        <a class="tile" href="#/dead-letters">
          <span class="figure">{count(dlq.data?.stats?.unresolvedItems ?? 0n)}</span> unresolved dead letters
        </a>
      </section>
      <section aria-labelledby="deliveries-title">
        <h2 id="deliveries-title">Deliveries</h2>
        {history.data && <DeliveryChart minutes={history.data.minutes} label="All subscriptions" />}
      </section>
      <section aria-labelledby="subscriptions-title">
        <h2 id="subscriptions-title">Subscriptions</h2>
        {summaries.length === 0 ? (
          <p>
            No subscriptions yet. <a href="#/manage/subscriptions">Create one</a>.
          </p>
        ) : (
          <SubscriptionTable summaries={summaries} linkPrefix="#/subscriptions/" />
        )}
      </section>
      <section aria-labelledby="topics-title">
        <h2 id="topics-title">Topics</h2>
        <ul class="inline-list">
          {(topics.data?.topics ?? []).map((t) => (
            <li key={t.code} class={t.isActive ? "" : "paused"}>
              {t.code} {t.isActive ? "" : "(inactive)"}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
