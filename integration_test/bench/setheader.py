"""mitmproxy addon for the notion-proxy benchmark: the simplest way to put a
token on Notion calls with mitmproxy. Every request is sent to the fake
Notion (BENCH_UPSTREAM_HOST:BENCH_UPSTREAM_PORT) with
Authorization: Bearer BENCH_TOKEN."""

import os

HOST = os.environ["BENCH_UPSTREAM_HOST"]
PORT = int(os.environ["BENCH_UPSTREAM_PORT"])
BEARER = "Bearer " + os.environ["BENCH_TOKEN"]


def request(flow):
    flow.request.host = HOST
    flow.request.port = PORT
    flow.request.headers["Authorization"] = BEARER
