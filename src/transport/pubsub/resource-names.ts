import { DomainError } from "../../domain/domain-error.js";
import { validateSnapshotName } from "../../domain/snapshot.js";
import { validateSubscriptionName } from "../../domain/subscription.js";
import { validateTopicCode } from "../../domain/topic.js";

/**
 * google.pubsub.v1 resource names ⇄ Herald's codes. `projects/{project}/topics/{id}` names the
 * topic whose code is `id`; `projects/{project}/subscriptions/{id}` the subscription named `id`.
 * `projects/{project}/snapshots/{id}` the snapshot named `id`.
 * Herald has one namespace: any project is accepted and the same topic is seen from every project.
 */

/** Pub/Sub project ids: 6–30 lowercase letters, digits and hyphens; emulators accept more. */
const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

export interface ResourceName {
  project: string;
  id: string;
}

function parse(
  field: string,
  name: string,
  collection: "topics" | "subscriptions" | "snapshots",
): ResourceName {
  const parts = name.split("/");
  if (parts.length !== 4 || parts[0] !== "projects" || parts[2] !== collection || parts[3] === "") {
    throw DomainError.invalid(field, `must be projects/{project}/${collection}/{id}`);
  }
  const project = parts[1] as string;
  if (!PROJECT.test(project)) throw DomainError.invalid(field, "names an invalid project id");
  return { project, id: parts[3] as string };
}

/** The id must be a Herald topic code; errors name the request's field, not Herald's. */
export function parseTopicName(field: string, name: string): ResourceName {
  const parsed = parse(field, name, "topics");
  validateTopicCode(field, parsed.id);
  return parsed;
}

/** The id must be a Herald subscription name; errors name the request's field. */
export function parseSubscriptionName(field: string, name: string): ResourceName {
  const parsed = parse(field, name, "subscriptions");
  validateSubscriptionName(field, parsed.id);
  return parsed;
}

/** The id must be a Herald snapshot name; errors name the request's field. */
export function parseSnapshotName(field: string, name: string): ResourceName {
  const parsed = parse(field, name, "snapshots");
  validateSnapshotName(field, parsed.id);
  return parsed;
}

/** `projects/{project}` of a List request. */
export function parseProjectName(field: string, name: string): string {
  const parts = name.split("/");
  if (parts.length !== 2 || parts[0] !== "projects" || !PROJECT.test(parts[1] as string)) {
    throw DomainError.invalid(field, "must be projects/{project}");
  }
  return parts[1] as string;
}

export function topicName(project: string, code: string): string {
  return `projects/${project}/topics/${code}`;
}

export function subscriptionName(project: string, name: string): string {
  return `projects/${project}/subscriptions/${name}`;
}

export function snapshotName(project: string, name: string): string {
  return `projects/${project}/snapshots/${name}`;
}
