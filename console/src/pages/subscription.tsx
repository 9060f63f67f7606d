import type { Duration } from "@bufbuild/protobuf/wkt";
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { NotificationLog, QueueItem } from "../../../gen/herald/v1/admin_service_pb.js";
import { DeliveryType, type Subscription } from "../../../gen/herald/v1/resources_pb.js";
import { api, errorText } from "../api.js";
import { DeliveryChart } from "../chart.js";
import { age, count, when } from "../format.js";
import { DataTable, ErrorLine, usePoll } from "../ui.js";
import { EditSubscription } from "./subscription-edit.js";
import { SnapshotsSection } from "./subscription-snapshots.js";

const REFRESH_MS = 5_000;
const seconds = (d: Duration | undefined) => (d ? `${Number(d.seconds)} s` : "–");

function ConfigTable(props: { sub: Subscription }) {
  const s = props.sub;
  const rows: Array<[string, string]> = [
    ["Topic", s.topic],
    ["Subscriber id", String(s.subscriberId)],
    [
      "Delivery",
      s.deliveryType === DeliveryType.PUSH ? `push to ${s.pushEndpoint || s.callbackUrl}` : "pull",
    ],
    ["Identifier pattern", s.identifier || "(all)"],
    ["Filter", s.filter || "(none)"],
    ["Ack deadline", `${s.ackDeadlineSeconds} s`],
    ["Max delivery attempts", String(s.maxDeliveryAttempts)],
    ["Backoff", `${seconds(s.minBackoff)} … ${seconds(s.maxBackoff)}`],
    ["Message TTL", seconds(s.messageTtl)],
    ["Ordering", s.enableOrdering ? "on" : "off"],
    ["Exactly-once delivery", s.enableExactlyOnceDelivery ? "on" : "off"],
    ["Retain acked messages", s.retainAckedMessages ? "yes" : "no"],
    ["Dead-letter topic", s.deadLetterTopic || "(none)"],
    ["Created", when(s.createTime)],
  ];
  return (
    <table class="config">
      <caption class="visually-hidden">Configuration</caption>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DeliveryLog(props: { logs: readonly NotificationLog[] }) {
  return (
    <DataTable
      caption="Delivery attempts"
      columns={["Time", "Message", "Method", "Status", "HTTP", "Duration", "Error"]}
    >
      {props.logs.map((l) => (
        <tr key={String(l.id)} class={l.status === "failed" ? "failing" : ""}>
          <td>{when(l.createTime)}</td>
          <td>{l.messageId}</td>
          <td>{l.deliveryMethod}</td>
          <td>{l.status}</td>
          <td>{l.httpStatus || "–"}</td>
          <td>{l.durationMs} ms</td>
          <td class="wrap">{l.error || l.skippedReason}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function QueueTable(props: { items: readonly QueueItem[] }) {
  return (
    <DataTable
      caption="Queue items"
      columns={["Queue id", "Message", "Status", "Attempts", "Next retry", "Created", "Last error"]}
    >
      {props.items.map((q) => (
        <tr key={String(q.id)}>
          <td>{String(q.id)}</td>
          <td>{q.messageId}</td>
          <td>{q.status}</td>
          <td>{q.attemptCount}</td>
          <td>{when(q.nextRetryTime)}</td>
          <td>{when(q.createTime)}</td>
          <td class="wrap">{q.lastError}</td>
        </tr>
      ))}
    </DataTable>
  );
}

export function StatusSelect(props: {
  id: string;
  label: string;
  value: string;
  options: string[];
  onChange: (v: string) => void;
}) {
  return (
    <label for={props.id}>
      {props.label}{" "}
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">all</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A titled section with a status filter above its table. */
export function FilteredSection(props: {
  id: string;
  title: string;
  status: string;
  options: string[];
  onStatus: (v: string) => void;
  error: string;
  children: ComponentChildren;
}) {
  return (
    <section aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      <StatusSelect
        id={`${props.id}-status`}
        label="Status"
        value={props.status}
        options={props.options}
        onChange={props.onStatus}
      />
      <ErrorLine error={props.error} />
      {props.children}
    </section>
  );
}

export const LOG_STATUSES = ["sent", "failed", "pending", "skipped"];

export function SubscriptionPage(props: { name: string }) {
  const { name } = props;
  const [logStatus, setLogStatus] = useState("");
  const [queueStatus, setQueueStatus] = useState("");
  const [actionError, setActionError] = useState("");
  const sub = usePoll(() => api.admin.getSubscription({ name }), REFRESH_MS, [name]);
  const stats = usePoll(() => api.admin.getSubscriptionStats({ name }), REFRESH_MS, [name]);
  const history = usePoll(
    () => api.console.getDeliveryHistory({ subscription: name, minutes: 60 }),
    REFRESH_MS,
    [name],
  );
  const logs = usePoll(
    () => api.admin.listNotificationLogs({ subscription: name, status: logStatus, pageSize: 50 }),
    REFRESH_MS,
    [name, logStatus],
  );
  const queue = usePoll(
    () => api.admin.listQueueItems({ subscription: name, status: queueStatus, pageSize: 50 }),
    REFRESH_MS,
    [name, queueStatus],
  );
  const s = sub.data?.subscription;
  const st = stats.data?.stats;
  const act = (call: () => Promise<unknown>) => {
    setActionError("");
    call().then(sub.reload, (e: unknown) => setActionError(errorText(e)));
  };
  return (
    <>
      <h1>Subscription {name}</h1>
      <ErrorLine error={sub.error || stats.error || actionError} />
      {s && (
        <p class={s.pauseTime ? "banner paused" : s.pushFailingSince ? "banner failing" : "banner"}>
          {s.pauseTime
            ? `Paused since ${when(s.pauseTime)}${s.pauseReason ? `: ${s.pauseReason}` : ""}`
            : s.pushFailingSince
              ? `Endpoint failing since ${when(s.pushFailingSince)}`
              : s.deliveryType === DeliveryType.PUSH
                ? "Delivering"
                : "Pull subscription: consumers fetch messages"}{" "}
          {s.deliveryType !== DeliveryType.PUSH ? null : s.pauseTime ? (
            <button type="button" onClick={() => act(() => api.admin.resumeSubscription({ name }))}>
              Resume
            </button>
          ) : (
            <button
              type="button"
              onClick={() =>
                act(() => api.admin.pauseSubscription({ name, reason: "paused from the console" }))
              }
            >
              Pause
            </button>
          )}{" "}
          <a href={`#/dead-letters?subscription=${encodeURIComponent(name)}`}>Dead letters</a>
        </p>
      )}
      {st && (
        <section class="tiles" aria-label="Figures">
          <div class="tile">
            <span class="figure" data-testid="backlog">
              {count(st.backlog)}
            </span>{" "}
            backlog
          </div>
          <div class="tile">
            <span class="figure">{count(st.inFlight)}</span> in flight
          </div>
          <div class="tile">
            <span class="figure">{count(st.waitingForRetry)}</span> retrying
          </div>
          <div class="tile">
            <span class="figure">{age(st.oldestUnackedAgeSeconds)}</span> oldest unacked
          </div>
          <div class="tile">
            <span class="figure">{count(st.deadLettersUnresolved)}</span> dead letters
          </div>
          <div class="tile">
            <span class="figure">{count(sub.data?.messageCount ?? 0n)}</span> delivered in total
          </div>
        </section>
      )}
      {history.data && <DeliveryChart minutes={history.data.minutes} label={name} />}
      {s && (
        <section aria-labelledby="config-title">
          <h2 id="config-title">Configuration</h2>
          <ConfigTable sub={s} />
          <EditSubscription sub={s} onSaved={sub.reload} />
        </section>
      )}
      {s && <SnapshotsSection sub={s} onSought={() => stats.reload()} />}
      <FilteredSection
        id="log"
        title="Recent delivery attempts"
        status={logStatus}
        options={LOG_STATUSES}
        onStatus={setLogStatus}
        error={logs.error}
      >
        <DeliveryLog logs={logs.data?.notificationLogs ?? []} />
      </FilteredSection>
      <FilteredSection
        id="queue"
        title="Queue items"
        status={queueStatus}
        options={["pending", "leased", "failed", "sent", "dead_lettered"]}
        onStatus={setQueueStatus}
        error={queue.error}
      >
        <QueueTable items={queue.data?.queueItems ?? []} />
      </FilteredSection>
    </>
  );
}
