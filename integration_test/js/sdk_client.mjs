// sdk_client.mjs drives the official Notion JavaScript SDK through
// notion-proxy, for integration_test/sdk_test.go. It is a test client, not a
// recipe: see README.md "Node.js recipe" for the two set-ups alone.
//
// Environment:
//   NOTION_PROXY_MODE  "base" (SDK baseUrl = the proxy) or "https-proxy"
//                      (SDK default https://api.notion.com through the proxy
//                      as an HTTPS forward proxy, via undici's ProxyAgent)
//   NOTION_PROXY_URL   the proxy, e.g. http://127.0.0.1:8787
//   NOTION_PROXY_CA    the proxy's CA certificate (PEM), for "https-proxy"
//   SDK_CLIENT_WORKERS concurrent workers (default 4)
//   SDK_CLIENT_ROUNDS  rounds per worker (default 2)
//
// Run: every worker calls users.me once (the warm-up), then the script waits
// for a line on stdin (the test revokes the token meanwhile), then every
// worker runs its rounds of CALLS_PER_ROUND calls. Total calls:
// workers * (1 + rounds * CALLS_PER_ROUND). If a warm-up call fails, the
// script reports at once instead of waiting.
//
// Output: one JSON line on stdout,
//   {"calls": n, "errors": [{op, id, name, code, status, message}], "ids": [write ids]}
// Exit status 0 if errors is empty, 1 if not, 2 if the script itself broke.
//
// Every call carries a unique X-Test-Call-Id header, which the fake Notion
// keys its record of applied writes by. The SDK's resource methods
// (pages.create, ...) take no per-call headers (only the low-level
// client.request does), so the id travels in an AsyncLocalStorage and a
// wrapper around the SDK's fetch adds it to the request.

import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Client, LogLevel } from "@notionhq/client";
import { ProxyAgent, fetch as undiciFetch } from "undici";

const CALLS_PER_ROUND = 6;
const PARENT_PAGE_ID = "59833787-2cf9-4fdf-8782-e53db20768a5";
const DATA_SOURCE_ID = "0d3e1f2a-1111-2222-3333-444455556666";
const DATABASE_ID = "1e4f2a3b-5555-6666-7777-888899990000";

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (fallback === undefined) throw new Error(`${name} is not set`);
    return fallback;
  }
  return v;
}

const mode = env("NOTION_PROXY_MODE");
const proxyURL = env("NOTION_PROXY_URL");
const workers = Number(env("SDK_CLIENT_WORKERS", "4"));
const rounds = Number(env("SDK_CLIENT_ROUNDS", "2"));

const callId = new AsyncLocalStorage();

// withCallId wraps a fetch function so each request carries the
// X-Test-Call-Id of the SDK call it belongs to.
function withCallId(baseFetch) {
  return (url, init = {}) => {
    const id = callId.getStore();
    if (id === undefined) return baseFetch(url, init);
    return baseFetch(url, { ...init, headers: { ...init.headers, "X-Test-Call-Id": id } });
  };
}

let dispatcher; // closed at the end, so no keep-alive socket holds the process
const options = {
  auth: "placeholder-the-proxy-puts-the-real-token", // replaced by the proxy
  timeoutMs: 60_000,
  // No SDK retries: a 429 or 5xx that got past the proxy must show up here
  // as an error instead of being quietly retried by the SDK.
  retry: false,
  logLevel: LogLevel.WARN, // a failed call is logged on stderr
};
switch (mode) {
  case "base":
    options.baseUrl = proxyURL;
    options.fetch = withCallId(globalThis.fetch.bind(globalThis));
    break;
  case "https-proxy":
    // Node 20's built-in fetch ignores HTTPS_PROXY and the SDK's `agent`
    // option, so give the SDK undici's fetch with a ProxyAgent dispatcher.
    // requestTls is the TLS towards api.notion.com (terminated by the proxy
    // with a leaf signed by its CA).
    dispatcher = new ProxyAgent({
      uri: proxyURL,
      requestTls: { ca: readFileSync(env("NOTION_PROXY_CA")) },
    });
    options.fetch = withCallId((url, init) => undiciFetch(url, { ...init, dispatcher }));
    break;
  default:
    throw new Error(`NOTION_PROXY_MODE: want "base" or "https-proxy", got ${JSON.stringify(mode)}`);
}
const notion = new Client(options);

let calls = 0;
const errors = [];
const writeIds = [];

// call runs one SDK call under a fresh X-Test-Call-Id and records its error
// instead of throwing it.
async function call(op, id, isWrite, fn) {
  calls++;
  if (isWrite) writeIds.push(id);
  try {
    return await callId.run(id, fn);
  } catch (err) {
    errors.push({
      op,
      id,
      name: err?.name,
      code: err?.code,
      status: err?.status,
      message: String(err?.message ?? err),
    });
    return undefined;
  }
}

function title(text) {
  return { title: { title: [{ text: { content: text } }] } };
}

async function warmUp(w) {
  await call("users.me", `sdk-${mode}-w${w}-warmup`, false, () => notion.users.me({}));
}

async function round(w, r) {
  const tag = `sdk-${mode}-w${w}-r${r}`;
  await call("users.me", `${tag}-me`, false, () => notion.users.me({}));
  const page = await call("pages.create", `${tag}-create`, true, () =>
    notion.pages.create({ parent: { page_id: PARENT_PAGE_ID }, properties: title(`${tag} created`) }),
  );
  const pageId = page?.id ?? PARENT_PAGE_ID;
  await call("pages.update", `${tag}-update`, true, () =>
    notion.pages.update({ page_id: pageId, properties: title(`${tag} updated`) }),
  );
  await call("search", `${tag}-search`, false, () => notion.search({ query: tag, page_size: 10 }));
  await call("dataSources.query", `${tag}-ds-query`, false, () =>
    notion.dataSources.query({ data_source_id: DATA_SOURCE_ID, page_size: 10 }),
  );
  // SDK 5.x has no databases.query (the data-source API replaced it); the
  // low-level request still reaches the older endpoint.
  await call("databases query", `${tag}-db-query`, false, () =>
    notion.request({ path: `databases/${DATABASE_ID}/query`, method: "post", body: { page_size: 10 } }),
  );
}

// firstLineOfStdin resolves when a line (or end of input) arrives on stdin.
function firstLineOfStdin() {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    const done = () => {
      rl.close();
      process.stdin.destroy();
      resolve();
    };
    rl.once("line", done);
    rl.once("close", resolve);
  });
}

async function main() {
  const ids = [...Array(workers).keys()];
  await Promise.all(ids.map(warmUp));
  if (errors.length > 0) return; // the set-up is broken: report at once
  await firstLineOfStdin();
  await Promise.all(
    ids.map(async (w) => {
      for (let r = 0; r < rounds; r++) await round(w, r);
    }),
  );
  if (calls !== workers * (1 + rounds * CALLS_PER_ROUND)) {
    throw new Error(`made ${calls} calls, expected ${workers * (1 + rounds * CALLS_PER_ROUND)}`);
  }
}

try {
  await main();
  process.stdout.write(JSON.stringify({ calls, errors, ids: writeIds }) + "\n");
  process.exitCode = errors.length === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`sdk_client: ${err?.stack ?? err}\n`);
  process.exitCode = 2;
} finally {
  await dispatcher?.close();
}
