import { EventEmitter } from "node:events";
import type http from "node:http";
import type http2 from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { splitCleartextProtocols } from "./cleartext-protocol-split.js";

/** A listener that splits each connection between two recording stand-ins for the servers. */
async function splitter(firstBytesTimeoutMs: number) {
  const chosen: Array<{ protocol: "http2" | "http1"; firstBytes: Promise<string> }> = [];
  const stand = (protocol: "http2" | "http1") => {
    const server = new EventEmitter();
    server.on("connection", (socket: Socket) => {
      // What the chosen server reads first must be the connection's very first bytes.
      const firstBytes = new Promise<string>((resolve) =>
        socket.once("data", (chunk: Buffer) => resolve(chunk.toString("latin1"))),
      );
      socket.resume();
      chosen.push({ protocol, firstBytes });
    });
    return server;
  };
  const servers = {
    http2: stand("http2") as unknown as http2.Http2Server,
    http1: stand("http1") as unknown as http.Server,
  };
  const listener = net.createServer((socket) =>
    splitCleartextProtocols(socket, servers, firstBytesTimeoutMs),
  );
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as AddressInfo).port;
  return { listener, port, chosen };
}

const waitFor = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
};

describe("splitCleartextProtocols", () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function open(firstBytesTimeoutMs = 60_000) {
    const s = await splitter(firstBytesTimeoutMs);
    const client = net.connect({ host: "127.0.0.1", port: s.port });
    client.on("error", () => {});
    cleanups.push(() => {
      client.destroy();
      s.listener.close();
    });
    return { ...s, client };
  }

  it("hands a connection that starts with the HTTP/2 preface to the HTTP/2 server, bytes intact", async () => {
    const { client, chosen } = await open();
    client.write("PRI * HTTP/2.0\r\n");
    client.write("\r\nSM\r\n\r\nFRAMES");
    await waitFor(() => chosen.length === 1);
    expect(chosen[0]?.protocol).toBe("http2");
    expect(await chosen[0]?.firstBytes).toMatch(/^PRI \* HTTP\/2\.0\r\n\r\nSM\r\n\r\n/);
  });

  it("hands anything else, even a method starting with P, to the HTTP/1.1 server", async () => {
    const { client, chosen } = await open();
    client.write("PUT /x HTTP/1.1\r\n\r\n");
    await waitFor(() => chosen.length === 1);
    expect(chosen[0]?.protocol).toBe("http1");
    expect(await chosen[0]?.firstBytes).toBe("PUT /x HTTP/1.1\r\n\r\n");
  });

  it("closes a connection that stops in the middle of the preface", async () => {
    const { client, chosen } = await open(50);
    const closed = new Promise((resolve) => client.once("close", resolve));
    client.write("PRI * HT");
    await closed;
    expect(chosen).toEqual([]);
  });
});
