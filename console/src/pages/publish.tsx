import { useState } from "preact/hooks";
import { api, errorText } from "../api.js";
import { ErrorLine, usePoll } from "../ui.js";

/** Publishes one test message as a chosen publisher (an admin may publish as any). */
export function PublishPage() {
  const publishers = usePoll(() => api.admin.listPublishers({ pageSize: 1000 }), 0, []);
  const topics = usePoll(() => api.admin.listTopics({ pageSize: 1000 }), 0, []);
  const [publisher, setPublisher] = useState("");
  const [topic, setTopic] = useState("");
  const [identifier, setIdentifier] = useState("test");
  const [data, setData] = useState('{"hello":"world"}');
  const [attributes, setAttributes] = useState("");
  const [result, setResult] = useState("");
  const [error, setError] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    setError("");
    setResult("");
    const attrs: Record<string, string> = {};
    for (const line of attributes.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) attrs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    api.publisher
      .publish({
        publisher: publisher || publishers.data?.publishers[0]?.code || "",
        topic: topic || topics.data?.topics[0]?.code || "",
        messages: [{ data: new TextEncoder().encode(data), identifier, attributes: attrs }],
      })
      .then(
        (r) => setResult(`Published message ${r.messageIds.join(", ")}.`),
        (err: unknown) => setError(errorText(err)),
      );
  };
  return (
    <>
      <h1>Publish a test message</h1>
      <ErrorLine error={publishers.error || topics.error || error} />
      <form class="stacked" onSubmit={submit}>
        <label for="pub-publisher">
          Publisher
          <select id="pub-publisher" value={publisher} onChange={(e) => setPublisher(e.currentTarget.value)}>
            {(publishers.data?.publishers ?? []).map((p) => (
              <option key={p.code} value={p.code}>
                {p.code}
              </option>
            ))}
          </select>
        </label>
        <label for="pub-topic">
          Topic
          <select id="pub-topic" value={topic} onChange={(e) => setTopic(e.currentTarget.value)}>
            {(topics.data?.topics ?? []).map((t) => (
              <option key={t.code} value={t.code}>
                {t.code}
              </option>
            ))}
          </select>
        </label>
        <label for="pub-identifier">
          Identifier
          <input
            id="pub-identifier"
            value={identifier}
            onInput={(e) => setIdentifier(e.currentTarget.value)}
          />
        </label>
        <label for="pub-data">
          Data (sent as UTF-8)
          <textarea id="pub-data" rows={5} value={data} onInput={(e) => setData(e.currentTarget.value)} />
        </label>
        <label for="pub-attributes">
          Attributes (one key=value per line)
          <textarea
            id="pub-attributes"
            rows={3}
            value={attributes}
            onInput={(e) => setAttributes(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Publish</button>
      </form>
      {result && (
        <p class="notice" role="status">
          {result}
        </p>
      )}
    </>
  );
}
