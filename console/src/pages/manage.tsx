import { useState } from "preact/hooks";
import { DeliveryType } from "../../../gen/herald/v1/resources_pb.js";
import { api, errorText } from "../api.js";
import { ConfirmDialog, ErrorLine, SecretDialog, usePoll } from "../ui.js";

const TABS = ["topics", "publishers", "subscribers", "subscriptions"] as const;

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

function Topics(p: Shared) {
  const list = usePoll(() => api.admin.listTopics({ pageSize: 1000 }), 0, []);
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  return (
    <section aria-labelledby="topics-title">
      <h2 id="topics-title">Topics</h2>
      <form
        class="create"
        onSubmit={(e) => {
          e.preventDefault();
          p.run(
            () => api.admin.createTopic({ code, name: name || code }),
            () => {
              setCode("");
              setName("");
              list.reload();
            },
          );
        }}
      >
        <Field id="topic-code" label="Code" value={code} onInput={setCode} required />
        <Field id="topic-name" label="Name" value={name} onInput={setName} />
        <button type="submit">Create topic</button>
      </form>
      <ErrorLine error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Name</th>
            <th scope="col">Active</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.topics ?? []).map((t) => (
            <tr key={t.code}>
              <td>{t.code}</td>
              <td>{t.name}</td>
              <td>{t.isActive ? "yes" : "no"}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    p.run(() => api.admin.updateTopic({ code: t.code, isActive: !t.isActive }), list.reload)
                  }
                >
                  {t.isActive ? "Deactivate" : "Activate"}
                </button>{" "}
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    p.confirmDelete(
                      `topic ${t.code}`,
                      () => api.admin.deleteTopic({ code: t.code }),
                      list.reload,
                    )
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Publishers(p: Shared) {
  const list = usePoll(() => api.admin.listPublishers({ pageSize: 1000 }), 0, []);
  const [code, setCode] = useState("");
  const [topics, setTopics] = useState("*");
  return (
    <section aria-labelledby="publishers-title">
      <h2 id="publishers-title">Publishers</h2>
      <form
        class="create"
        onSubmit={(e) => {
          e.preventDefault();
          const allowedTopics = topics
            .split(",")
            .map((t) => t.trim())
            .filter((t) => t !== "");
          p.run(
            () =>
              api.admin.createPublisher({ code, name: code, allowedTopics }).then((r) => {
                p.showSecret(`API key of publisher ${code}`, r.apiKey);
              }),
            () => {
              setCode("");
              list.reload();
            },
          );
        }}
      >
        <Field id="publisher-code" label="Code" value={code} onInput={setCode} required />
        <Field
          id="publisher-topics"
          label="Allowed topics (comma-separated, * for all)"
          value={topics}
          onInput={setTopics}
        />
        <button type="submit">Create publisher</button>
      </form>
      <ErrorLine error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Allowed topics</th>
            <th scope="col">Active</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.publishers ?? []).map((pub) => (
            <tr key={pub.code}>
              <td>{pub.code}</td>
              <td>{pub.allowedTopics.join(", ")}</td>
              <td>{pub.isActive ? "yes" : "no"}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    p.run(() =>
                      api.admin
                        .rotatePublisherKey({ code: pub.code })
                        .then((r) => p.showSecret(`New API key of publisher ${pub.code}`, r.apiKey)),
                    )
                  }
                >
                  Rotate key
                </button>{" "}
                <button
                  type="button"
                  onClick={() =>
                    p.run(
                      () => api.admin.updatePublisher({ code: pub.code, isActive: !pub.isActive }),
                      list.reload,
                    )
                  }
                >
                  {pub.isActive ? "Deactivate" : "Activate"}
                </button>{" "}
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    p.confirmDelete(
                      `publisher ${pub.code}`,
                      () => api.admin.deletePublisher({ code: pub.code }),
                      list.reload,
                    )
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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
      <form
        class="create"
        onSubmit={(e) => {
          e.preventDefault();
          p.run(
            () =>
              api.admin
                .createSubscriber({ name, clientId: BigInt(clientId || "0"), webhookUrl })
                .then((r) =>
                  p.showSecret(
                    `Credentials of subscriber ${name}`,
                    `API key: ${r.apiKey}\nSigning secret: ${r.signingSecret}`,
                  ),
                ),
            () => {
              setName("");
              list.reload();
            },
          );
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
        <button type="submit">Create subscriber</button>
      </form>
      <ErrorLine error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Client</th>
            <th scope="col">Webhook</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.subscribers ?? []).map((s) => (
            <tr key={String(s.id)}>
              <td>{String(s.id)}</td>
              <td>{s.name}</td>
              <td>{String(s.clientId)}</td>
              <td class="wrap">{s.webhookUrl}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    p.run(() =>
                      api.admin
                        .rotateSubscriberKey({ id: s.id })
                        .then((r) => p.showSecret(`New API key of subscriber ${s.name}`, r.apiKey)),
                    )
                  }
                >
                  Rotate key
                </button>{" "}
                <button
                  type="button"
                  onClick={() =>
                    p.run(() =>
                      api.admin
                        .rotateSubscriberSecret({ id: s.id })
                        .then((r) =>
                          p.showSecret(`New signing secret of subscriber ${s.name}`, r.signingSecret),
                        ),
                    )
                  }
                >
                  Rotate signing secret
                </button>{" "}
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    p.confirmDelete(
                      `subscriber ${s.name}`,
                      () => api.admin.deleteSubscriber({ id: s.id }),
                      list.reload,
                    )
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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
      <form
        class="create"
        onSubmit={(e) => {
          e.preventDefault();
          p.run(
            () =>
              api.admin.createSubscription({
                name,
                subscriberId: BigInt(subscriberId || "0"),
                topic,
                identifier,
                deliveryType: pushEndpoint ? DeliveryType.PUSH : DeliveryType.PULL,
                pushEndpoint,
                ...(maxAttempts ? { maxDeliveryAttempts: Number(maxAttempts) } : {}),
              }),
            () => {
              setName("");
              list.reload();
            },
          );
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
        <button type="submit">Create subscription</button>
      </form>
      <ErrorLine error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Topic</th>
            <th scope="col">Subscriber</th>
            <th scope="col">Delivery</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.subscriptions ?? []).map((s) => (
            <tr key={s.name}>
              <td>
                <a href={`#/subscriptions/${encodeURIComponent(s.name)}`}>{s.name}</a>
              </td>
              <td>{s.topic}</td>
              <td>{String(s.subscriberId)}</td>
              <td class="wrap">{s.deliveryType === DeliveryType.PUSH ? `push ${s.pushEndpoint}` : "pull"}</td>
              <td>
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    p.confirmDelete(
                      `subscription ${s.name}`,
                      () => api.admin.deleteSubscription({ name: s.name }),
                      list.reload,
                    )
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
