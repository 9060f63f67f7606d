import { useState } from "preact/hooks";
import { api, errorText } from "../api.js";
import { asHex, asJson, asText, when } from "../format.js";
import { ConfirmDialog, ErrorLine, usePoll } from "../ui.js";
import { DeliveryLog } from "./subscription.js";

type View = "text" | "json" | "hex";

function Payload(props: { data: Uint8Array }) {
  const json = asJson(props.data);
  const text = asText(props.data);
  const [view, setView] = useState<View>(json !== undefined ? "json" : text !== undefined ? "text" : "hex");
  const shown =
    view === "json"
      ? (json ?? "(not JSON)")
      : view === "text"
        ? (text ?? "(not UTF-8 text)")
        : asHex(props.data);
  return (
    <section aria-labelledby="payload-title">
      <h2 id="payload-title">Payload ({props.data.length} bytes)</h2>
      <div role="radiogroup" aria-label="Payload view" class="segmented">
        {(["text", "json", "hex"] as const).map((v) => (
          <label key={v}>
            <input type="radio" name="payload-view" checked={view === v} onChange={() => setView(v)} /> {v}
          </label>
        ))}
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (axe scrollable-region-focusable) */}
      <pre class="payload" data-testid="payload" tabIndex={0}>
        {shown}
      </pre>
    </section>
  );
}

/** One dead letter: its payload, the message's attributes, every delivery attempt and, for admins, replay/resolve. */
export function DeadLetterPage(props: { id: string; canAct: boolean }) {
  const id = /^\d{1,19}$/.test(props.id) ? BigInt(props.id) : 0n;
  const [confirm, setConfirm] = useState<"replay" | "resolve" | undefined>();
  const [notice, setNotice] = useState("");
  const [actionError, setActionError] = useState("");
  const found = usePoll(() => api.console.getCallerDeadLetter({ id }), 0, [props.id]);
  const d = found.data?.deadLetter;
  const attempts = usePoll(
    () =>
      props.canAct && d
        ? api.admin.listNotificationLogs({
            messageId: d.messageId,
            subscription: d.subscription,
            pageSize: 100,
          })
        : Promise.resolve(undefined),
    0,
    [d?.id],
  );
  const act = (kind: "replay" | "resolve") => {
    setConfirm(undefined);
    setActionError("");
    const call =
      kind === "replay"
        ? api.deadLetters.replayDeadLetters({ ids: [id], resolvedBy: "console" })
        : api.deadLetters.resolveDeadLetters({ ids: [id], resolvedBy: "console" });
    call.then(
      () => {
        setNotice(kind === "replay" ? "Replayed: the message is queued again." : "Resolved.");
        found.reload();
      },
      (e: unknown) => setActionError(errorText(e)),
    );
  };
  const attributes = Object.entries(found.data?.attributes ?? {});
  return (
    <>
      <h1>Dead letter {props.id}</h1>
      <ErrorLine error={found.error || actionError} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {d && (
        <>
          <table class="config">
            <caption class="visually-hidden">Dead letter</caption>
            <tbody>
              <tr>
                <th scope="row">Subscription</th>
                <td>{d.subscription}</td>
              </tr>
              <tr>
                <th scope="row">Message</th>
                <td>{d.messageId}</td>
              </tr>
              <tr>
                <th scope="row">Reason</th>
                <td>{d.failureReason}</td>
              </tr>
              <tr>
                <th scope="row">Attempts</th>
                <td>{d.attemptCount}</td>
              </tr>
              <tr>
                <th scope="row">Last error</th>
                <td class="wrap">
                  {d.lastError}
                  {d.lastHttpStatus ? ` (HTTP ${d.lastHttpStatus})` : ""}
                </td>
              </tr>
              <tr>
                <th scope="row">First / last attempt</th>
                <td>
                  {when(d.firstAttemptTime)} / {when(d.lastAttemptTime)}
                </td>
              </tr>
              <tr>
                <th scope="row">Moved</th>
                <td>{when(d.movedTime)}</td>
              </tr>
              <tr>
                <th scope="row">State</th>
                <td data-testid="dead-letter-state">
                  {d.resolved ? `resolved by ${d.resolvedBy} at ${when(d.resolveTime)}` : "unresolved"}
                </td>
              </tr>
            </tbody>
          </table>
          {props.canAct && !d.resolved && (
            <div class="actions">
              <button type="button" onClick={() => setConfirm("replay")}>
                Replay
              </button>
              <button type="button" onClick={() => setConfirm("resolve")}>
                Resolve
              </button>
            </div>
          )}
          {confirm && (
            <ConfirmDialog
              title="Please confirm"
              confirmLabel={confirm === "replay" ? "Replay" : "Resolve"}
              onCancel={() => setConfirm(undefined)}
              onConfirm={() => act(confirm)}
            >
              <p data-testid="confirm-text">
                {confirm === "replay"
                  ? `Replay 1 dead letter to ${d.subscription}?`
                  : "Mark 1 dead letter resolved without redelivery?"}
              </p>
            </ConfirmDialog>
          )}
          <Payload data={d.messageData} />
          <section aria-labelledby="attributes-title">
            <h2 id="attributes-title">Attributes</h2>
            {attributes.length === 0 ? (
              <p>None.</p>
            ) : (
              <dl class="attributes">
                {attributes.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            )}
          </section>
          {attempts.data && (
            <section aria-labelledby="attempts-title">
              <h2 id="attempts-title">Delivery attempts</h2>
              <DeliveryLog logs={attempts.data.notificationLogs} />
            </section>
          )}
        </>
      )}
    </>
  );
}
