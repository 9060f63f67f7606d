#!/bin/sh
# Generates gen/ from Herald's own protos and from the google.pubsub.v1 protos shipped in the
# @google-cloud/pubsub npm package (with the google/api annotations they import from google-gax).
# The Google protos are staged in a temporary directory at generation time, never copied into the
# repository: the package version pinned in package.json is the single source.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pubsub=node_modules/@google-cloud/pubsub/build/protos
gax=node_modules/google-gax/build/protos
mkdir -p "$stage/google/pubsub/v1" "$stage/google/api" "$stage/google/iam/v1" "$stage/google/type"
cp "$pubsub/google/pubsub/v1/pubsub.proto" "$pubsub/google/pubsub/v1/schema.proto" "$stage/google/pubsub/v1/"
for f in annotations client field_behavior resource http launch_stage; do
  cp "$gax/google/api/$f.proto" "$stage/google/api/"
done
# IAM is served only to answer UNIMPLEMENTED with a message, as the Pub/Sub clients call it.
for f in iam_policy options policy; do
  cp "$gax/google/iam/v1/$f.proto" "$stage/google/iam/v1/"
done
cp "$gax/google/type/expr.proto" "$stage/google/type/"
# google.rpc.ErrorInfo: the per-ack-id failures of exactly-once Acknowledge/ModifyAckDeadline.
mkdir -p "$stage/google/rpc"
cp "$gax/google/rpc/error_details.proto" "$stage/google/rpc/"
buf generate
buf generate "$stage" --template buf.gen.google.yaml
