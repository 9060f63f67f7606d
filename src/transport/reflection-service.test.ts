import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, createFileRegistry, type DescFile, fromBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter, createClient, createRouterTransport } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_herald_v1_admin_service } from "../../gen/herald/v1/admin_service_pb.js";
import { file_herald_v1_errors } from "../../gen/herald/v1/errors_pb.js";
import { file_herald_v1_publisher_service } from "../../gen/herald/v1/publisher_service_pb.js";
import { file_herald_v1_resources } from "../../gen/herald/v1/resources_pb.js";
import { file_herald_v1_subscriber_service } from "../../gen/herald/v1/subscriber_service_pb.js";
import { createHealthRoutes, HealthState } from "./health-service.js";
import { createReflectionRoutes } from "./reflection-service.js";

const heraldFiles = [
  file_herald_v1_admin_service,
  file_herald_v1_errors,
  file_herald_v1_publisher_service,
  file_herald_v1_resources,
  file_herald_v1_subscriber_service,
];

/** A proto2 file with a nested message and extension 100 of `test.Base`; herald has neither. */
const extensionFile: DescFile = (() => {
  const proto = create(FileDescriptorProtoSchema, {
    name: "test/ext.proto",
    package: "test",
    syntax: "proto2",
    messageType: [
      { name: "Base", extensionRange: [{ start: 100, end: 200 }], nestedType: [{ name: "Inner" }] },
    ],
    extension: [
      {
        name: "tag",
        number: 100,
        label: FieldDescriptorProto_Label.OPTIONAL,
        type: FieldDescriptorProto_Type.STRING,
        extendee: ".test.Base",
      },
    ],
  });
  const file = createFileRegistry(proto, () => undefined).getFile("test/ext.proto");
  if (file === undefined) throw new Error("test/ext.proto did not build");
  return file;
})();

type RequestInit = v1.ServerReflectionRequest["messageRequest"];

/** Sends each request on one bidi stream (v1 unless told) and returns the responses in order. */
async function reflect(requests: RequestInit[], version: "v1" | "v1alpha" = "v1") {
  const transport = createRouterTransport(createReflectionRoutes([...heraldFiles, extensionFile]));
  const service = version === "v1" ? v1.ServerReflection : v1alpha.ServerReflection;
  const client = createClient(service, transport);
  async function* input() {
    for (const messageRequest of requests) yield { host: "h", messageRequest };
  }
  const responses = [];
  for await (const response of client.serverReflectionInfo(input())) responses.push(response);
  return responses;
}

async function reflectOne(request: RequestInit) {
  const [response] = await reflect([request]);
  if (response === undefined) throw new Error("no response");
  return response.messageResponse;
}

/** The names of the FileDescriptorProtos in a file_descriptor_response, in order. */
async function fileNames(request: RequestInit): Promise<string[]> {
  const answer = await reflectOne(request);
  if (answer.case !== "fileDescriptorResponse") throw new Error(`expected files, got ${answer.case}`);
  return answer.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

describe("ServerReflection", () => {
  it("lists herald's services, health and both reflection services", async () => {
    const answer = await reflectOne({ case: "listServices", value: "" });
    expect(answer.case === "listServicesResponse" && answer.value.service.map((s) => s.name)).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "herald.v1.AdminService",
      "herald.v1.PublisherService",
      "herald.v1.SubscriberService",
    ]);
  });

  it("answers file_by_filename with the file first, then each transitive dependency once", async () => {
    const names = await fileNames({ case: "fileByFilename", value: "herald/v1/admin_service.proto" });
    expect(names[0]).toBe("herald/v1/admin_service.proto");
    expect([...names].sort()).toEqual([
      "google/protobuf/duration.proto",
      "google/protobuf/field_mask.proto",
      "google/protobuf/timestamp.proto",
      "herald/v1/admin_service.proto",
      "herald/v1/resources.proto",
    ]);
  });

  it("keeps the dependency list in each serialized file", async () => {
    const answer = await reflectOne({ case: "fileByFilename", value: "herald/v1/resources.proto" });
    const first = answer.case === "fileDescriptorResponse" ? answer.value.fileDescriptorProto[0] : undefined;
    expect(first && fromBinary(FileDescriptorProtoSchema, first).dependency).toEqual([
      "google/protobuf/duration.proto",
      "google/protobuf/timestamp.proto",
    ]);
  });

  it.each([
    ["a service", "herald.v1.PublisherService", "herald/v1/publisher_service.proto"],
    ["a method", "herald.v1.AdminService.CreateTopic", "herald/v1/admin_service.proto"],
    ["a message", "herald.v1.Topic", "herald/v1/resources.proto"],
    ["a nested message", "test.Base.Inner", "test/ext.proto"],
    ["a map entry message", "herald.v1.PublishMessage.AttributesEntry", "herald/v1/publisher_service.proto"],
    ["a field", "herald.v1.Topic.name", "herald/v1/resources.proto"],
    ["an enum", "herald.v1.DeliveryType", "herald/v1/resources.proto"],
    ["an enum value", "herald.v1.DELIVERY_TYPE_PUSH", "herald/v1/resources.proto"],
    ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["a nested enum value", "grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["an extension", "test.tag", "test/ext.proto"],
    ["a well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
    ["the reflection service", "grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"],
  ])("finds the file containing %s", async (_kind, symbol, file) => {
    const names = await fileNames({ case: "fileContainingSymbol", value: symbol });
    expect(names[0]).toBe(file);
  });

  it("answers NOT_FOUND for unknown names and keeps the stream open", async () => {
    const responses = await reflect([
      { case: "fileContainingSymbol", value: "herald.v1.Nope" },
      { case: "fileByFilename", value: "nope.proto" },
      { case: "fileContainingSymbol", value: "herald.v1.Topic" },
    ]);
    expect(responses.map((r) => r.messageResponse.case)).toEqual([
      "errorResponse",
      "errorResponse",
      "fileDescriptorResponse",
    ]);
    const first = responses[0]?.messageResponse;
    expect(first?.case === "errorResponse" && first.value.errorCode).toBe(Code.NotFound);
    expect(responses[0]?.originalRequest?.messageRequest.value).toBe("herald.v1.Nope");
    expect(responses[0]?.validHost).toBe("h");
  });

  it("finds the file declaring an extension by extendee and number, NOT_FOUND otherwise", async () => {
    const request = (extensionNumber: number): RequestInit => ({
      case: "fileContainingExtension",
      value: create(v1.ExtensionRequestSchema, { containingType: "test.Base", extensionNumber }),
    });
    expect(await fileNames(request(100))).toEqual(["test/ext.proto"]);
    const missing = await reflectOne(request(101));
    expect(missing.case === "errorResponse" && missing.value.errorCode).toBe(Code.NotFound);
  });

  it("lists extension numbers of a known type (possibly none) and NOT_FOUND for an unknown type", async () => {
    const [base, topic, unknown] = (
      await reflect([
        { case: "allExtensionNumbersOfType", value: "test.Base" },
        { case: "allExtensionNumbersOfType", value: "herald.v1.Topic" },
        { case: "allExtensionNumbersOfType", value: "herald.v1.Nope" },
      ])
    ).map((r) => r.messageResponse);
    expect(base?.value).toMatchObject({ baseTypeName: "test.Base", extensionNumber: [100] });
    expect(topic?.value).toMatchObject({ baseTypeName: "herald.v1.Topic", extensionNumber: [] });
    expect(unknown?.case === "errorResponse" && unknown.value.errorCode).toBe(Code.NotFound);
  });

  it("answers v1alpha clients the same way", async () => {
    const [services, symbol] = await reflect(
      [
        { case: "listServices", value: "" },
        { case: "fileContainingSymbol", value: "herald.v1.SubscriberService" },
      ],
      "v1alpha",
    );
    expect(services?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
    expect(
      services?.messageResponse.case === "listServicesResponse" && services.messageResponse.value.service,
    ).toContainEqual(expect.objectContaining({ name: "herald.v1.SubscriberService" }));
    const first = symbol?.messageResponse.case === "fileDescriptorResponse" && symbol.messageResponse.value;
    expect(
      first && fromBinary(FileDescriptorProtoSchema, first.fileDescriptorProto[0] ?? new Uint8Array()).name,
    ).toBe("herald/v1/subscriber_service.proto");
  });
});

const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const run = promisify(execFile);

/** Serves `routes` over cleartext HTTP/2 on 127.0.0.1:0; `stop` closes the server and its sessions. */
async function startServer(routes: (router: ConnectRouter) => void) {
  const shutdown = new AbortController();
  const server = http2.createServer(connectNodeAdapter({ routes, shutdownSignal: shutdown.signal }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    shutdown.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.destroy();
    await closed;
  };
  return { url, stop };
}

describe("reflection over a real HTTP/2 server", () => {
  it("lets buf curl list services and methods, and call Health/Check", async () => {
    const reflection = createReflectionRoutes(heraldFiles);
    const health = createHealthRoutes(new HealthState());
    const server = await startServer((router) => {
      reflection(router);
      health(router);
    });
    try {
      const curl = (...args: string[]) =>
        run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 });
      const expected = [
        "herald.v1.AdminService",
        "herald.v1.PublisherService",
        "herald.v1.SubscriberService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
      ];

      const services = (await curl("--list-services", server.url)).stdout.split("\n");
      for (const name of expected) expect(services).toContain(name);

      const methods = (await curl("--list-methods", server.url)).stdout.split("\n");
      expect(methods).toContain("herald.v1.AdminService/CreateTopic");
      expect(methods).toContain("herald.v1.PublisherService/Publish");
      expect(methods).toContain("grpc.health.v1.Health/Check");
      expect(methods).toContain("grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
      for (const name of expected) expect(methods.some((m) => m.startsWith(`${name}/`))).toBe(true);

      const check = await curl("--data", "{}", `${server.url}/grpc.health.v1.Health/Check`);
      expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });

      const alpha = await curl("--reflect-protocol", "grpc-v1alpha", "--list-services", server.url);
      expect(alpha.stdout.split("\n")).toContain("herald.v1.SubscriberService");
    } finally {
      await server.stop();
    }
  });
});
