/** Settings end-to-end push tests run the server with: loopback receivers over plain HTTP, fast polls. */
export const PUSH_TEST_ENV: Readonly<Record<string, string>> = Object.freeze({
  HERALD_WEBHOOK_ALLOW_PRIVATE: "127.0.0.1/32",
  HERALD_WEBHOOK_ALLOW_HTTP: "true",
  HERALD_POLL_MIN_MS: "5",
  HERALD_POLL_MAX_MS: "50",
});
