import { useState } from "preact/hooks";
import { ResolutionFilter } from "../../../gen/herald/v1/dead_letter_service_pb.js";
import { api } from "../api.js";
import { DeliveryChart } from "../chart.js";
import { when } from "../format.js";
import { DataTable, ErrorLine, usePoll } from "../ui.js";
import { DeadLetterPage } from "./dead-letter.js";
import { SubscriptionTable } from "./overview.js";
import { DeliveryLog, FilteredSection, LOG_STATUSES } from "./subscription.js";

const REFRESH_MS = 5_000;

/** A subscriber key's read-only view: its own subscriptions, their deliveries and dead letters. */
export function PortalPage(props: { route: string }) {
  const parts =
    props.route
      .split("?", 1)[0]
      ?.split("/")
      .filter((p) => p !== "") ?? [];
  if (parts[0] === "mine" && parts[1]) return <MySubscription key={parts[1]} name={parts[1]} />;
  if (parts[0] === "dead-letters" && parts[1])
    return <DeadLetterPage key={parts[1]} id={parts[1]} canAct={false} />;
  return <MySubscriptions />;
}

function MySubscriptions() {
  const subs = usePoll(() => api.console.listCallerSubscriptions({ pageSize: 100 }), REFRESH_MS, []);
  const history = usePoll(() => api.console.getDeliveryHistory({ minutes: 60 }), REFRESH_MS, []);
  return (
    <>
      <h1>My subscriptions</h1>
      <ErrorLine error={subs.error || history.error} />
      {history.data && <DeliveryChart minutes={history.data.minutes} label="My subscriptions" />}
      <SubscriptionTable summaries={subs.data?.subscriptions ?? []} linkPrefix="#/mine/" />
    </>
  );
}

function MySubscription(props: { name: string }) {
  const { name } = props;
  const [status, setStatus] = useState("");
  const history = usePoll(
    () => api.console.getDeliveryHistory({ subscription: name, minutes: 60 }),
    REFRESH_MS,
    [name],
  );
  const logs = usePoll(
    () => api.console.listCallerDeliveries({ subscription: name, status, pageSize: 50 }),
    REFRESH_MS,
    [name, status],
  );
  const dead = usePoll(
    () =>
      api.console.listCallerDeadLetters({
        subscription: name,
        resolution: ResolutionFilter.UNRESOLVED,
        pageSize: 50,
      }),
    REFRESH_MS,
    [name],
  );
  return (
    <>
      <h1>Subscription {name}</h1>
      <ErrorLine error={history.error || logs.error || dead.error} />
      {history.data && <DeliveryChart minutes={history.data.minutes} label={name} />}
      <FilteredSection
        id="my-log"
        title="Recent deliveries"
        status={status}
        options={LOG_STATUSES}
        onStatus={setStatus}
        error=""
      >
        <DeliveryLog logs={logs.data?.notificationLogs ?? []} />
      </FilteredSection>
      <section aria-labelledby="my-dead-title">
        <h2 id="my-dead-title">Unresolved dead letters</h2>
        <DataTable
          caption="Unresolved dead letters"
          columns={["Id", "Reason", "Attempts", "Last error", "Moved"]}
        >
          {(dead.data?.deadLetters ?? []).map((d) => (
            <tr key={String(d.id)}>
              <td>
                <a href={`#/dead-letters/${d.id}`}>{String(d.id)}</a>
              </td>
              <td>{d.failureReason}</td>
              <td>{d.attemptCount}</td>
              <td class="wrap">{d.lastError}</td>
              <td>{when(d.movedTime)}</td>
            </tr>
          ))}
        </DataTable>
      </section>
    </>
  );
}
