import { useState } from "preact/hooks";
import type { Subscription } from "../../../gen/herald/v1/resources_pb.js";
import { api, errorText } from "../api.js";
import { count, when } from "../format.js";
import { ConfirmDialog, DataTable, ErrorLine, usePoll } from "../ui.js";

const REFRESH_MS = 5_000;

type Pending = { kind: "seek" | "delete"; snapshot: string };

/**
 * The snapshots of a subscription's topic (any of them can be sought to from any subscription of
 * the topic): take one of this subscription, seek this subscription back to one, delete one.
 * Seek and delete first ask, stating what they do.
 */
export function SnapshotsSection(props: { sub: Subscription; onSought: () => void }) {
  const s = props.sub;
  const list = usePoll(() => api.admin.listSnapshots({ topic: s.topic, pageSize: 100 }), REFRESH_MS, [
    s.topic,
  ]);
  const [newName, setNewName] = useState("");
  const [pending, setPending] = useState<Pending | undefined>();
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const start = () => {
    setError("");
    setNotice("");
  };
  const create = (e: Event) => {
    e.preventDefault();
    start();
    const name = newName.trim();
    api.admin.createSnapshot({ name, subscription: s.name }).then(
      () => {
        setNotice(`Snapshot ${name} taken.`);
        setNewName("");
        list.reload();
      },
      (err: unknown) => setError(errorText(err)),
    );
  };
  const run = (p: Pending) => {
    setPending(undefined);
    start();
    if (p.kind === "seek") {
      api.admin.seekSubscription({ name: s.name, snapshot: p.snapshot }).then(
        (r) => {
          setNotice(
            `Sought to ${p.snapshot}: ${count(r.requeuedCount)} made deliverable again, ${count(r.ackedCount)} acked, ${count(r.replayedCount)} replayed.`,
          );
          props.onSought();
        },
        (err: unknown) => setError(errorText(err)),
      );
      return;
    }
    api.admin.deleteSnapshot({ name: p.snapshot }).then(
      () => {
        setNotice(`Snapshot ${p.snapshot} deleted.`);
        list.reload();
      },
      (err: unknown) => setError(errorText(err)),
    );
  };
  const snapshots = list.data?.snapshots ?? [];
  return (
    <section aria-labelledby="snapshots-title">
      <h2 id="snapshots-title">Snapshots of topic {s.topic}</h2>
      <form class="create" onSubmit={create}>
        <label for="snapshot-name">
          New snapshot of this subscription
          <input id="snapshot-name" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} />
        </label>
        <button type="submit">Take snapshot</button>
      </form>
      <ErrorLine error={list.error || error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <DataTable
        caption="Snapshots"
        columns={["Name", "Taken from", "Created", "Expires", "Labels", "Actions"]}
      >
        {snapshots.map((snap) => (
          <tr key={snap.name}>
            <td>{snap.name}</td>
            <td>{snap.sourceSubscription}</td>
            <td>{when(snap.createTime)}</td>
            <td>{when(snap.expireTime)}</td>
            <td class="wrap">
              {Object.entries(snap.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(", ")}
            </td>
            <td>
              <button type="button" onClick={() => setPending({ kind: "seek", snapshot: snap.name })}>
                Seek here
              </button>{" "}
              <button type="button" onClick={() => setPending({ kind: "delete", snapshot: snap.name })}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </DataTable>
      {pending && (
        <ConfirmDialog
          title="Please confirm"
          confirmLabel={pending.kind === "seek" ? "Seek" : "Delete"}
          onCancel={() => setPending(undefined)}
          onConfirm={() => run(pending)}
        >
          <p data-testid="confirm-text">
            {pending.kind === "seek"
              ? `Seek ${s.name} to snapshot ${pending.snapshot}? Messages unacked when it was taken, and every message published since, become deliverable again; the rest count as acked. Ack ids handed out before stop working.`
              : `Delete snapshot ${pending.snapshot}? Seeking to it will no longer be possible.`}
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
