import { useState } from "preact/hooks";
import { DeliveryType, type Subscription } from "../../../gen/herald/v1/resources_pb.js";
import { api, errorText } from "../api.js";
import { ErrorLine } from "../ui.js";

/** Edits the settings an operator changes during an incident; only changed fields are sent. */
export function EditSubscription(props: { sub: Subscription; onSaved: () => void }) {
  const s = props.sub;
  const [identifier, setIdentifier] = useState(s.identifier);
  const [filter, setFilter] = useState(s.filter);
  const [pushEndpoint, setPushEndpoint] = useState(s.pushEndpoint);
  const [ackDeadline, setAckDeadline] = useState(String(s.ackDeadlineSeconds));
  const [maxAttempts, setMaxAttempts] = useState(String(s.maxDeliveryAttempts));
  const [deadLetterTopic, setDeadLetterTopic] = useState(s.deadLetterTopic);
  const [exactlyOnce, setExactlyOnce] = useState(s.enableExactlyOnceDelivery);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  const isPush = s.deliveryType === DeliveryType.PUSH;
  const save = (e: Event) => {
    e.preventDefault();
    setError("");
    setSaved(false);
    api.admin
      .updateSubscription({
        name: s.name,
        ...(identifier !== s.identifier ? { identifier } : {}),
        ...(filter !== s.filter ? { filter } : {}),
        ...(isPush && pushEndpoint !== s.pushEndpoint ? { pushEndpoint } : {}),
        ...(ackDeadline !== String(s.ackDeadlineSeconds) ? { ackDeadlineSeconds: Number(ackDeadline) } : {}),
        ...(maxAttempts !== String(s.maxDeliveryAttempts)
          ? { maxDeliveryAttempts: Number(maxAttempts) }
          : {}),
        ...(deadLetterTopic !== s.deadLetterTopic ? { deadLetterTopic } : {}),
        ...(!isPush && exactlyOnce !== s.enableExactlyOnceDelivery
          ? { enableExactlyOnceDelivery: exactlyOnce }
          : {}),
      })
      .then(
        () => {
          setSaved(true);
          props.onSaved();
        },
        (err: unknown) => setError(errorText(err)),
      );
  };
  const field = (id: string, label: string, value: string, set: (v: string) => void) => (
    <label for={id}>
      {label}
      <input id={id} value={value} onInput={(e) => set(e.currentTarget.value)} />
    </label>
  );
  return (
    <details>
      <summary>Edit settings</summary>
      <form class="create" onSubmit={save}>
        {field("edit-identifier", "Identifier pattern", identifier, setIdentifier)}
        {field("edit-filter", "Attribute filter", filter, setFilter)}
        {isPush && field("edit-push", "Push endpoint", pushEndpoint, setPushEndpoint)}
        {field("edit-ack", "Ack deadline (s)", ackDeadline, setAckDeadline)}
        {field("edit-attempts", "Max delivery attempts", maxAttempts, setMaxAttempts)}
        {field("edit-dlt", "Dead-letter topic (empty: none)", deadLetterTopic, setDeadLetterTopic)}
        {!isPush && (
          // Pull only: Herald, like Pub/Sub, refuses exactly-once delivery for push.
          <label for="edit-exactly-once">
            <input
              id="edit-exactly-once"
              type="checkbox"
              checked={exactlyOnce}
              onChange={(e) => setExactlyOnce(e.currentTarget.checked)}
            />{" "}
            Exactly-once delivery
          </label>
        )}
        <button type="submit">Save</button>
      </form>
      <ErrorLine error={error} />
      {saved && (
        <p class="notice" role="status">
          Saved.
        </p>
      )}
    </details>
  );
}
