/** Small shared pieces: polling, hash routes, error lines, the confirmation dialog, progress. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { errorText } from "./api.js";

export interface Loaded<T> {
  data: T | undefined;
  error: string;
  reload: () => void;
}

/** Calls `load` now, whenever `deps` change, and every `intervalMs` (0: never again). */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let isCurrent = true;
    load().then(
      (d) => {
        if (!isCurrent) return;
        setData(d);
        setError("");
      },
      (e: unknown) => isCurrent && setError(errorText(e)),
    );
    const timer = intervalMs > 0 ? setTimeout(reload, intervalMs) : undefined;
    return () => {
      isCurrent = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload };
}

/** The part of the URL after '#', e.g. "/subscriptions/crm" (routes survive a reload, need no server). */
export function useHashRoute(): string {
  const read = () => decodeURI(location.hash.replace(/^#/, "")) || "/";
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function ErrorLine(props: { error: string }) {
  if (props.error === "") return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

/** A modal question with the exact consequence stated; Confirm runs the action. */
export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={props.onCancel}>
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A secret shown once (keys, signing secrets): Herald keeps only a hash or a sealed copy. */
export function SecretDialog(props: { title: string; secret: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="secret-title" onCancel={props.onClose}>
      <h2 id="secret-title">{props.title}</h2>
      <p>Copy it now: it is shown only this once.</p>
      <code class="secret" data-testid="secret">
        {props.secret}
      </code>
      <div class="actions">
        <button type="button" onClick={props.onClose}>
          Done
        </button>
      </div>
    </dialog>
  );
}

/** How far a long operation got; without `done` (one call the server batches) it is indeterminate. */
export function Progress(props: { label: string; done?: number; total: number }) {
  return (
    <div class="progress" role="status">
      <span id="progress-label">
        {props.done === undefined
          ? `${props.label} ${props.total}…`
          : `${props.label}: ${props.done} of ${props.total}`}
      </span>{" "}
      {props.done === undefined ? (
        <progress aria-labelledby="progress-label" />
      ) : (
        <progress aria-labelledby="progress-label" max={Math.max(1, props.total)} value={props.done} />
      )}
    </div>
  );
}

/** A table with a caption for screen readers and one header row naming the columns. */
export function DataTable(props: {
  caption: string;
  columns: readonly string[];
  children: ComponentChildren;
}) {
  return (
    <table>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}
