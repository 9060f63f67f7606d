import { describe, expect, it } from "vitest";
import { DomainError } from "../../domain/domain-error.js";
import {
  parseProjectName,
  parseSnapshotName,
  parseSubscriptionName,
  parseTopicName,
  snapshotName,
  subscriptionName,
  topicName,
} from "./resource-names.js";

/** Runs `parse` and returns the DomainError it threw (fails the test when it did not throw one). */
function errorOf(parse: () => unknown): DomainError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error("expected the name to be rejected");
}

describe("parseTopicName", () => {
  it("returns the project and the topic code of a well-formed name", () => {
    expect(parseTopicName("topic", "projects/my-project/topics/orders.created")).toEqual({
      project: "my-project",
      id: "orders.created",
    });
  });

  it("accepts the project ids emulators allow (dots, colons, underscores, upper case)", () => {
    expect(parseTopicName("topic", "projects/example.com:Proj_1/topics/t")).toEqual({
      project: "example.com:Proj_1",
      id: "t",
    });
  });

  it.each([
    ["an empty name", ""],
    ["only the project", "projects/p"],
    ["no id segment", "projects/p/topics"],
    ["an empty id", "projects/p/topics/"],
    ["a missing collection", "projects/p//t"],
    ["the subscriptions collection", "projects/p/subscriptions/t"],
    ["a misspelt collection", "projects/p/topic/t"],
    ["a misspelt projects segment", "project/p/topics/t"],
    ["a leading slash", "/projects/p/topics/t"],
    ["a trailing slash", "projects/p/topics/t/"],
    ["an extra segment", "projects/p/topics/t/extra"],
    ["a doubled slash", "projects/p/topics//t"],
    ["a bare id", "orders"],
  ])("rejects %s as INVALID_ARGUMENT naming the field", (_case, name) => {
    const error = errorOf(() => parseTopicName("dead_letter_policy.dead_letter_topic", name));
    expect({ kind: error.kind, field: error.field, message: error.message }).toEqual({
      kind: "invalid_argument",
      field: "dead_letter_policy.dead_letter_topic",
      message: "dead_letter_policy.dead_letter_topic: must be projects/{project}/topics/{id}",
    });
  });

  it.each([
    ["an empty project", "projects//topics/t"],
    ["a project starting with a hyphen", "projects/-p/topics/t"],
    ["a project with a space", "projects/my project/topics/t"],
    ["a project longer than 100 characters", `projects/${"p".repeat(101)}/topics/t`],
  ])("rejects %s as an invalid project id", (_case, name) => {
    const error = errorOf(() => parseTopicName("topic", name));
    expect({ kind: error.kind, field: error.field, message: error.message }).toEqual({
      kind: "invalid_argument",
      field: "topic",
      message: "topic: names an invalid project id",
    });
  });

  it("accepts a project of exactly 100 characters", () => {
    const project = "p".repeat(100);
    expect(parseTopicName("topic", `projects/${project}/topics/t`).project).toBe(project);
  });
});

describe("parseSubscriptionName", () => {
  it("returns the project and the subscription name of a well-formed name", () => {
    expect(parseSubscriptionName("subscription", "projects/p-1/subscriptions/orders-audit")).toEqual({
      project: "p-1",
      id: "orders-audit",
    });
  });

  it.each([
    ["the topics collection", "projects/p/topics/s"],
    ["an empty id", "projects/p/subscriptions/"],
    ["no id segment", "projects/p/subscriptions"],
    ["an extra segment", "projects/p/subscriptions/s/x"],
    ["a leading slash", "/projects/p/subscriptions/s"],
    ["a misspelt projects segment", "projekts/p/subscriptions/s"],
  ])("rejects %s as INVALID_ARGUMENT naming the field", (_case, name) => {
    const error = errorOf(() => parseSubscriptionName("subscription", name));
    expect({ kind: error.kind, field: error.field, message: error.message }).toEqual({
      kind: "invalid_argument",
      field: "subscription",
      message: "subscription: must be projects/{project}/subscriptions/{id}",
    });
  });

  it("rejects an invalid project id", () => {
    const error = errorOf(() => parseSubscriptionName("name", "projects/_p/subscriptions/s"));
    expect({ kind: error.kind, field: error.field, message: error.message }).toEqual({
      kind: "invalid_argument",
      field: "name",
      message: "name: names an invalid project id",
    });
  });
});

describe("parseProjectName", () => {
  it("returns the project of projects/{project}", () => {
    expect(parseProjectName("project", "projects/my-project")).toBe("my-project");
  });

  it.each([
    ["an empty name", ""],
    ["a bare project", "my-project"],
    ["an empty project", "projects/"],
    ["a trailing slash", "projects/p/"],
    ["a topic name", "projects/p/topics/t"],
    ["a misspelt projects segment", "project/p"],
    ["an invalid project id", "projects/-p"],
  ])("rejects %s as INVALID_ARGUMENT naming the field", (_case, name) => {
    const error = errorOf(() => parseProjectName("project", name));
    expect({ kind: error.kind, field: error.field, message: error.message }).toEqual({
      kind: "invalid_argument",
      field: "project",
      message: "project: must be projects/{project}",
    });
  });
});

describe("formatting", () => {
  it("formats topic and subscription names that parse back to the same parts", () => {
    expect(topicName("p", "orders.created")).toBe("projects/p/topics/orders.created");
    expect(subscriptionName("p", "audit")).toBe("projects/p/subscriptions/audit");
    expect(parseTopicName("topic", topicName("p", "orders.created"))).toEqual({
      project: "p",
      id: "orders.created",
    });
    expect(parseSubscriptionName("name", subscriptionName("p", "audit"))).toEqual({
      project: "p",
      id: "audit",
    });
  });
});

describe("ids that are not Herald codes or names", () => {
  it("rejects Pub/Sub characters Herald does not allow, naming the request's field", () => {
    const topic = errorOf(() => parseTopicName("name", "projects/p/topics/a~b"));
    expect(topic).toMatchObject({ kind: "invalid_argument", field: "name" });
    expect(topic.message).toMatch(/^name: /);
    const subscription = errorOf(() => parseSubscriptionName("subscription", "projects/p/subscriptions/s+1"));
    expect(subscription).toMatchObject({ kind: "invalid_argument", field: "subscription" });
  });
});

describe("parseSnapshotName", () => {
  it("returns the project and the snapshot name, and names round-trip", () => {
    expect(parseSnapshotName("snapshot", "projects/p/snapshots/before-deploy")).toEqual({
      project: "p",
      id: "before-deploy",
    });
    expect(parseSnapshotName("snapshot", snapshotName("p", "s.1"))).toEqual({ project: "p", id: "s.1" });
  });

  it("refuses a subscription or topic name and an invalid snapshot name, naming the request's field", () => {
    expect(errorOf(() => parseSnapshotName("snapshot", "projects/p/subscriptions/s")).message).toBe(
      "snapshot: must be projects/{project}/snapshots/{id}",
    );
    expect(errorOf(() => parseSnapshotName("name", "projects/p/topics/t")).field).toBe("name");
    expect(errorOf(() => parseSnapshotName("snapshot", "projects/p/snapshots/-bad")).field).toBe("snapshot");
  });
});
