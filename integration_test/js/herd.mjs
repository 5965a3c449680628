// herd.mjs is the herd benchmark's anchor (integration_test/bench/herd.go):
// what a user has today without notion-proxy. CALLERS concurrent async
// callers in this one Node.js process, each with its own Client of the
// official SDK, send CALLS users.me calls one after the other straight to
// the (rate-limited) fake Notion, retrying 429s the SDK's own way (its
// defaults: up to 2 retries, waiting out Retry-After; a 60 s timeout per
// request).
//
// Run: NODE_EXTRA_CA_CERTS=fake-ca.pem node herd.mjs URL TOKEN CALLERS CALLS
//   URL      the fake's base URL, e.g. https://127.0.0.1:43121
//   TOKEN    the integration token the fake accepts
//
// Output: one JSON line on stdout,
//   {"total_ms": t, "calls": n, "failed": f, "first_error": "..."}
// Exit status 0 when it measured (failed calls included), 2 if the script
// itself broke.

import { Client } from "@notionhq/client";

const [url, token, callersArg, callsArg] = process.argv.slice(2);
const callers = Number(callersArg);
const calls = Number(callsArg);
if (!url || !token || !(callers > 0) || !(calls > 0)) {
  console.error("usage: node herd.mjs URL TOKEN CALLERS CALLS");
  process.exit(2);
}

// quiet drops the SDK's log lines (a warning per retry): the fake counts
// the 429s.
const quiet = () => {};

let failed = 0;
let firstError = "";

async function caller() {
  const notion = new Client({ auth: token, baseUrl: url, logger: quiet });
  for (let i = 0; i < calls; i++) {
    try {
      await notion.users.me({});
    } catch (err) {
      failed++;
      if (firstError === "") {
        firstError = `${err.code ?? err.name}: ${err.message}`;
      }
    }
  }
}

try {
  const start = performance.now();
  await Promise.all(Array.from({ length: callers }, caller));
  const totalMs = performance.now() - start;
  process.stdout.write(
    JSON.stringify({ total_ms: totalMs, calls: callers * calls, failed, first_error: firstError }) + "\n",
  );
} catch (err) {
  console.error(err);
  process.exit(2);
}
