import { create } from "@bufbuild/protobuf";
import {
  type StreamingPullRequest,
  StreamingPullRequestSchema,
} from "../../gen/google/pubsub/v1/pubsub_pb.js";

/** A request stream the test writes to; `end()` half-closes it. */
export function requestChannel() {
  const queued: StreamingPullRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    send(init: Parameters<typeof create<typeof StreamingPullRequestSchema>>[1]) {
      queued.push(create(StreamingPullRequestSchema, init));
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queued.length > 0) yield queued.shift() as StreamingPullRequest;
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}
