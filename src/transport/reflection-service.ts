import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The files every server registers: both reflection versions and health. */
const builtinFiles: readonly DescFile[] = [
  v1.file_grpc_reflection_v1_reflection,
  v1alpha.file_grpc_reflection_v1alpha_reflection,
  file_grpc_health_v1_health,
];

/** A reflection request of either version; v1 and v1alpha are wire-identical. */
type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The `message_response` oneof, written once for both versions as a plain init shape. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * Lookup tables over the served files and their transitive dependencies, built once. Symbols cover
 * services, methods (`pkg.Service.Method`), messages (nested too), fields, oneofs, enums, enum values
 * (in their enum's parent scope, as protobuf scopes them) and extensions.
 */
class ReflectionIndex {
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly encoded = new Map<string, Uint8Array>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly messages = new Map<string, DescMessage>();
  /** Extendee type name → extension field number → file declaring the extension. */
  private readonly extensions = new Map<string, Map<number, DescFile>>();

  constructor(served: readonly DescFile[]) {
    const services = new Set<string>();
    for (const file of served) {
      this.addFile(file);
      for (const service of file.services) services.add(service.typeName);
    }
    this.serviceNames = [...services].sort();
  }

  answer(request: ReflectionRequest["messageRequest"]): ReflectionAnswer {
    switch (request.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: this.serviceNames.map((name) => ({ name })) },
        };
      case "fileByFilename":
        return this.fileResponse(this.files.get(request.value), `file "${request.value}"`);
      case "fileContainingSymbol":
        return this.fileResponse(this.symbols.get(request.value), `symbol "${request.value}"`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value;
        const file = this.extensions.get(containingType)?.get(extensionNumber);
        return this.fileResponse(file, `extension ${extensionNumber} of "${containingType}"`);
      }
      case "allExtensionNumbersOfType": {
        if (!this.messages.has(request.value)) return notFound(`message type "${request.value}"`);
        const numbers = [...(this.extensions.get(request.value)?.keys() ?? [])].sort((a, b) => a - b);
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: request.value, extensionNumber: numbers },
        };
      }
      default:
        return errorAnswer(Code.InvalidArgument, "reflection request has no message_request set");
    }
  }

  /** The file first (clients read it as the answer), then each transitive dependency once. */
  private fileResponse(file: DescFile | undefined, what: string): ReflectionAnswer {
    if (file === undefined) return notFound(what);
    const ordered: DescFile[] = [file];
    const seen = new Set([file.proto.name]);
    for (let i = 0; i < ordered.length; i++) {
      for (const dependency of ordered[i]?.dependencies ?? []) {
        if (seen.has(dependency.proto.name)) continue;
        seen.add(dependency.proto.name);
        ordered.push(dependency);
      }
    }
    const fileDescriptorProto = ordered.map((f) => this.encodedFile(f));
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
  }

  /** Serialized on first request, not at start: encoding every file cost ~0.2 s of each restart. */
  private encodedFile(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = encode(file);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }

  private addFile(file: DescFile): void {
    const name = file.proto.name;
    if (this.files.has(name)) return;
    this.files.set(name, file);
    for (const dependency of file.dependencies) this.addFile(dependency);
    for (const type of nestedTypes(file)) {
      this.symbols.set(type.typeName, file);
      switch (type.kind) {
        case "service":
          for (const method of type.methods) this.symbols.set(`${type.typeName}.${method.name}`, file);
          break;
        case "message":
          this.messages.set(type.typeName, type);
          for (const field of type.fields) this.symbols.set(`${type.typeName}.${field.name}`, file);
          for (const oneof of type.oneofs) this.symbols.set(`${type.typeName}.${oneof.name}`, file);
          // protobuf-es hides map entry messages (`Msg.AttributesEntry`); the descriptor still has them.
          for (const nested of type.proto.nestedType)
            this.symbols.set(`${type.typeName}.${nested.name}`, file);
          break;
        case "enum": {
          const scope = type.typeName.slice(0, type.typeName.length - type.name.length);
          for (const value of type.values) this.symbols.set(`${scope}${value.name}`, file);
          break;
        }
        case "extension": {
          const byNumber = this.extensions.get(type.extendee.typeName) ?? new Map<number, DescFile>();
          byNumber.set(type.number, file);
          this.extensions.set(type.extendee.typeName, byNumber);
          break;
        }
      }
    }
  }
}

/**
 * The serialized FileDescriptorProto as the generated code embedded it (dependencies restored, no
 * source info). google/protobuf/descriptor.proto itself is a reduced boot copy in protobuf-es.
 */
function encode(file: DescFile): Uint8Array {
  return toBinary(FileDescriptorProtoSchema, file.proto);
}

function notFound(what: string): ReflectionAnswer {
  return errorAnswer(Code.NotFound, `${what} not found`);
}

function errorAnswer(code: Code, message: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: code, errorMessage: message } };
}

/**
 * Routes for gRPC server reflection (`grpc.reflection.v1.ServerReflection` and its wire-identical
 * `v1alpha` twin) describing `files`, their dependencies, and the reflection and health files. Lookups
 * that find nothing answer an error_response with NOT_FOUND (5) and keep the stream open.
 */
export function createReflectionRoutes(files: readonly DescFile[]): (router: ConnectRouter) => void {
  const index = new ReflectionIndex([...files, ...builtinFiles]);
  async function* serverReflectionInfo<R extends ReflectionRequest>(requests: AsyncIterable<R>) {
    for await (const request of requests) {
      yield {
        validHost: request.host,
        originalRequest: request,
        messageResponse: index.answer(request.messageRequest),
      };
    }
  }
  return (router) => {
    router.service(v1.ServerReflection, { serverReflectionInfo });
    router.service(v1alpha.ServerReflection, { serverReflectionInfo });
  };
}
