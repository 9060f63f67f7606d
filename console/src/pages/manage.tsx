import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { DeliveryType } from "../../../gen/herald/v1/resources_pb.js";
import { api, errorText } from "../api.js";
import { ConfirmDialog, DataTable, ErrorLine, SecretDialog, usePoll } from "../ui.js";

const TABS = ["topics", "publishers", "subscribers", "subscriptions"] as const;

/** What every resource tab gets from the page: running a call, confirming a delete, showing a secret once. */
interface Shared {
  run: (call: () => Promise<unknown>, after?: () => void) => void;
  confirmDelete: (what: string, call: () => Promise<unknown>, after: () => void) => void;
  showSecret: (title: string, secret: string) => void;
}

/** Create, edit and delete publishers, topics, subscribers and subscriptions; rotate keys and secrets. */
export function ManagePage(props: { tab: string }) {
  const [error, setError] = useState("");
  const [secret, setSecret] = useState<{ title: string; secret: string } | undefined>();
  const [deleting, setDeleting] = useState<{
    what: string;
    call: () => Promise<unknown>;
    after: () => void;
  }>();
  const shared: Shared = {
    run: (call, after) => {
      setError("");
      call().then(
        () => after?.(),
        (e: unknown) => setError(errorText(e)),
      );
    },
    confirmDelete: (what, call, after) => setDeleting({ what, call, after }),
    showSecret: (title, value) => setSecret({ title, secret: value }),
  };
  return (
    <>
      <h1>Manage</h1>
      <nav aria-label="Resources" class="tabs">
        {TABS.map((t) => (
          <a key={t} href={`#/manage/${t}`} aria-current={props.tab === t ? "page" : undefined}>
            {t}
          </a>
        ))}
      </nav>
      <ErrorLine error={error} />
      {props.tab === "topics" && <Topics {...shared} />}
      {props.tab === "publishers" && <Publishers {...shared} />}
      {props.tab === "subscribers" && <Subscribers {...shared} />}
      {props.tab === "subscriptions" && <Subscriptions {...shared} />}
      {secret && (
        <SecretDialog title={secret.title} secret={secret.secret} onClose={() => setSecret(undefined)} />
      )}
      {deleting && (
        <ConfirmDialog
          title="Please confirm"
          confirmLabel="Delete"
          onCancel={() => setDeleting(undefined)}
          onConfirm={() => {
            const d = deleting;
            setDeleting(undefined);
            shared.run(d.call, d.after);
          }}
        >
          <p data-testid="confirm-text">Delete {deleting.what}?</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function Field(props: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  required?: boolean;
}) {
  return (
    <label for={props.id}>
      {props.label}
      <input
        id={props.id}
        value={props.value}
        required={props.required}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}

/** A create form: the fields, one submit button; `create` runs on submit, `done` after it succeeded. */
function CreateForm(props: {
  p: Shared;
  label: string;
  create: () => Promise<unknown>;
  done: () => void;
  children: ComponentChildren;
}) {
  return (
    <form
      class="create"
      onSubmit={(e) => {
        e.preventDefault();
        props.p.run(props.create, props.done);
      }}
    >
      {props.children}
      <button type="submit">{props.label}</button>
    </form>
  );
}

/** Issues a new key or secret and shows it once. */
function SecretButton(props: { p: Shared; label: string; title: string; issue: () => Promise<string> }) {
  const { p } = props;
  return (
    <button
      type="button"
      onClick={() => p.run(() => props.issue().then((s) => p.showSecret(props.title, s)))}
    >
      {props.label}
    </button>
  );
}

function RowButtons(props: {
  p: Shared;
  what: string;
  remove: () => Promise<unknown>;
  reload: () => void;
  toggle?: { isActive: boolean; call: () => Promise<unknown> };
  children?: ComponentChildren;
}) {
  const { p, toggle } = props;
  return (
    <td class="row-actions">
      {props.children}
      {toggle && (
        <button type="button" onClick={() => p.run(toggle.call, props.reload)}>
          {toggle.isActive ? "Deactivate" : "Activate"}
        </button>
      )}
      <button
        type="button"
        class="danger"
        onClick={() => p.confirmDelete(props.what, props.remove, props.reload)}
      >
        Delete
      </button>
    </td>
  );
}

function Topics(p: Shared) {
  const list = usePoll(() => api.admin.listTopics({ pageSize: 1000 }), 0, []);
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  return (
    <section aria-labelledby="topics-title">
      <h2 id="topics-title">Topics</h2>
      <CreateForm
        p={p}
        label="Create topic"
        create={() => api.admin.createTopic({ code, name: name || code })}
        done={() => {
          setCode("");
          setName("");
          list.reload();
        }}
      >
        <Field id="topic-code" label="Code" value={code} onInput={setCode} required />
        <Field id="topic-name" label="Name" value={name} onInput={setName} />
      </CreateForm>
      <ErrorLine error={list.error} />
      <DataTable caption="Topics" columns={["Code", "Name", "Active", "Actions"]}>
        {(list.data?.topics ?? []).map((t) => (
          <tr key={t.code}>
            <td>{t.code}</td>
            <td>{t.name}</td>
            <td>{t.isActive ? "yes" : "no"}</td>
            <RowButtons
              p={p}
              what={`topic ${t.code}`}
              remove={() => api.admin.deleteTopic({ code: t.code })}
              reload={list.reload}
              toggle={{
                isActive: t.isActive,
                call: () => api.admin.updateTopic({ code: t.code, isActive: !t.isActive }),
              }}
            />
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

function Publishers(p: Shared) {
  const list = usePoll(() => api.admin.listPublishers({ pageSize: 1000 }), 0, []);
  const [code, setCode] = useState("");
  const [topics, setTopics] = useState("*");
  const allowedTopics = topics
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  return (
    <section aria-labelledby="publishers-title">
      <h2 id="publishers-title">Publishers</h2>
      <CreateForm
        p={p}
        label="Create publisher"
        create={() =>
          api.admin
            .createPublisher({ code, name: code, allowedTopics })
            .then((r) => p.showSecret(`API key of publisher ${code}`, r.apiKey))
        }
        done={() => {
          setCode("");
          list.reload();
        }}
      >
        <Field id="publisher-code" label="Code" value={code} onInput={setCode} required />
        <Field
          id="publisher-topics"
          label="Allowed topics (comma-separated, * for all)"
          value={topics}
          onInput={setTopics}
        />
      </CreateForm>
      <ErrorLine error={list.error} />
      <DataTable caption="Publishers" columns={["Code", "Allowed topics", "Active", "Actions"]}>
        {(list.data?.publishers ?? []).map((pub) => (
          <tr key={pub.code}>
            <td>{pub.code}</td>
            <td>{pub.allowedTopics.join(", ")}</td>
            <td>{pub.isActive ? "yes" : "no"}</td>
            <RowButtons
              p={p}
              what={`publisher ${pub.code}`}
              remove={() => api.admin.deletePublisher({ code: pub.code })}
              reload={list.reload}
              toggle={{
                isActive: pub.isActive,
                call: () => api.admin.updatePublisher({ code: pub.code, isActive: !pub.isActive }),
              }}
            >
              <SecretButton
                p={p}
                label="Rotate key"
                title={`New API key of publisher ${pub.code}`}
                issue={() => api.admin.rotatePublisherKey({ code: pub.code }).then((r) => r.apiKey)}
              />
            </RowButtons>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

function Subscribers(p: Shared) {
  const list = usePoll(() => api.admin.listSubscribers({ pageSize: 1000 }), 0, []);
  const [name, setName] = useState("");
  const [clientId, setClientId] = useState("1");
  const [webhookUrl, setWebhookUrl] = useState("");
  return (
    <section aria-labelledby="subscribers-title">
      <h2 id="subscribers-title">Subscribers</h2>
      <CreateForm
        p={p}
        label="Create subscriber"
        create={() =>
          api.admin
            .createSubscriber({ name, clientId: BigInt(/^\d+$/.test(clientId) ? clientId : "0"), webhookUrl })
            .then((r) =>
              p.showSecret(
                `Credentials of subscriber ${name}`,
                `API key: ${r.apiKey}\nSigning secret: ${r.signingSecret}`,
              ),
            )
        }
        done={() => {
          setName("");
          list.reload();
        }}
      >
        <Field id="subscriber-name" label="Name" value={name} onInput={setName} required />
        <Field id="subscriber-client" label="Client id" value={clientId} onInput={setClientId} required />
        <Field
          id="subscriber-webhook"
          label="Webhook URL (optional)"
          value={webhookUrl}
          onInput={setWebhookUrl}
        />
      </CreateForm>
      <ErrorLine error={list.error} />
      <DataTable caption="Subscribers" columns={["Id", "Name", "Client", "Webhook", "Actions"]}>
        {(list.data?.subscribers ?? []).map((s) => (
          <tr key={String(s.id)}>
            <td>{String(s.id)}</td>
            <td>{s.name}</td>
            <td>{String(s.clientId)}</td>
            <td class="wrap">{s.webhookUrl}</td>
            <RowButtons
              p={p}
              what={`subscriber ${s.name}`}
              remove={() => api.admin.deleteSubscriber({ id: s.id })}
              reload={list.reload}
              toggle={{
                isActive: s.isActive,
                call: () => api.admin.updateSubscriber({ id: s.id, isActive: !s.isActive }),
              }}
            >
              <SecretButton
                p={p}
                label="Rotate key"
                title={`New API key of subscriber ${s.name}`}
                issue={() => api.admin.rotateSubscriberKey({ id: s.id }).then((r) => r.apiKey)}
              />
              <SecretButton
                p={p}
                label="Rotate signing secret"
                title={`New signing secret of subscriber ${s.name}`}
                issue={() => api.admin.rotateSubscriberSecret({ id: s.id }).then((r) => r.signingSecret)}
              />
            </RowButtons>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

function Subscriptions(p: Shared) {
  const list = usePoll(() => api.admin.listSubscriptions({ pageSize: 1000 }), 0, []);
  const [name, setName] = useState("");
  const [subscriberId, setSubscriberId] = useState("");
  const [topic, setTopic] = useState("");
  const [identifier, setIdentifier] = useState("*");
  const [pushEndpoint, setPushEndpoint] = useState("");
  const [maxAttempts, setMaxAttempts] = useState("");
  return (
    <section aria-labelledby="subscriptions-title">
      <h2 id="subscriptions-title">Subscriptions</h2>
      <CreateForm
        p={p}
        label="Create subscription"
        create={() =>
          api.admin.createSubscription({
            name,
            subscriberId: BigInt(/^\d+$/.test(subscriberId) ? subscriberId : "0"),
            topic,
            identifier,
            deliveryType: pushEndpoint ? DeliveryType.PUSH : DeliveryType.PULL,
            pushEndpoint,
            ...(maxAttempts ? { maxDeliveryAttempts: Number(maxAttempts) } : {}),
          })
        }
        done={() => {
          setName("");
          list.reload();
        }}
      >
        <Field id="subscription-name" label="Name" value={name} onInput={setName} required />
        <Field
          id="subscription-subscriber"
          label="Subscriber id"
          value={subscriberId}
          onInput={setSubscriberId}
          required
        />
        <Field id="subscription-topic" label="Topic" value={topic} onInput={setTopic} required />
        <Field
          id="subscription-identifier"
          label="Identifier pattern"
          value={identifier}
          onInput={setIdentifier}
        />
        <Field
          id="subscription-push"
          label="Push endpoint (empty: pull)"
          value={pushEndpoint}
          onInput={setPushEndpoint}
        />
        <Field
          id="subscription-attempts"
          label="Max delivery attempts"
          value={maxAttempts}
          onInput={setMaxAttempts}
        />
      </CreateForm>
      <ErrorLine error={list.error} />
      <DataTable caption="Subscriptions" columns={["Name", "Topic", "Subscriber", "Delivery", "Actions"]}>
        {(list.data?.subscriptions ?? []).map((s) => (
          <tr key={s.name}>
            <td>
              <a href={`#/subscriptions/${encodeURIComponent(s.name)}`}>{s.name}</a>
            </td>
            <td>{s.topic}</td>
            <td>{String(s.subscriberId)}</td>
            <td class="wrap">{s.deliveryType === DeliveryType.PUSH ? `push ${s.pushEndpoint}` : "pull"}</td>
            <RowButtons
              p={p}
              what={`subscription ${s.name}`}
              remove={() => api.admin.deleteSubscription({ name: s.name })}
              reload={list.reload}
            />
          </tr>
        ))}
      </DataTable>
    </section>
  );
}
