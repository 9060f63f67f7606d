import { DomainError } from "../../domain/domain-error.js";
import { validateTopicCode } from "../../domain/topic.js";
import type { Repositories } from "../ports/store.js";

/**
 * The id of the topic a list is filtered by: undefined for no filter ("" or absent), NOT_FOUND
 * naming `topic` when no such topic exists.
 */
export async function topicFilterId(
  repos: Repositories,
  topicCode: string | undefined,
): Promise<bigint | undefined> {
  if (topicCode === undefined || topicCode === "") return undefined;
  validateTopicCode("topic", topicCode);
  const topic = await repos.topics.findByCode(topicCode);
  if (!topic) throw DomainError.notFound("topic", topicCode);
  return topic.id;
}
