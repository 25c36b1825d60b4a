#!/usr/bin/python3
"""Python `websockets` (Debian python3-websockets) as an interop peer: 10.x through 15.x, whose
`websockets.connect` is the legacy asyncio client up to 13.x and the new one from 14.0.

Usage: ws-peers.py SCENARIO URL [JSON-ARGS]
Prints one JSON object on stdout; the test asserts on it. Every wait is bounded by TIMEOUT.
Scenarios:
  echo       {"sizes": [...]}  text and binary of each size; reports whether each came back equal
  fragments                   a fragmented text and a fragmented binary message
  ping                        client ping, waits for the pong
  idle       {"seconds": s}   no traffic of its own (ping_interval=None) for s seconds, then one echo
  close      {"code": c, "reason": r}   client-initiated close; reports what the server answered
  server-close                sends "close-me", reports the server's close code and reason
  protocol   {"offer": [...]} reports the negotiated subprotocol, or the HTTP status of a refusal
  too-big    {"size": n}      sends n bytes of text, reports the close code and reason the server sent
"""
import asyncio
import json
import sys

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

TIMEOUT = 20


def payload(size, text):
    if text:
        return ("abcdefghijklmnopqrstuvwxyz" * (size // 26 + 1))[:size]
    return bytes((i * 31) & 0xFF for i in range(size)) if size < 1 << 20 else bytes(range(256)) * (size // 256)


async def connect(url, **kw):
    # ping_interval=None: the server's keepalive, not the client's, is under test
    return await asyncio.wait_for(websockets.connect(url, ping_interval=None, max_size=None, **kw), TIMEOUT)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def echo(url, args):
    ws = await connect(url)
    results = []
    for size in args["sizes"]:
        for text in (True, False):
            data = payload(size, text)
            await ws.send(data)
            got = await recv(ws)
            results.append({"size": size, "text": text, "same": got == data and type(got) is type(data)})
    await ws.close()
    return {"results": results}


async def fragments(url, _args):
    ws = await connect(url)
    await ws.send(["hé", "", "llo €"])
    text = await recv(ws)
    await ws.send([b"\x01\x02", b"\x03"])
    binary = await recv(ws)
    await ws.close()
    return {"text": text, "binary": list(binary)}


async def ping(url, _args):
    ws = await connect(url)
    waiter = await ws.ping(b"py-ping")
    await asyncio.wait_for(waiter, TIMEOUT)
    await ws.close()
    return {"pong": True}


async def idle(url, args):
    ws = await connect(url)
    await asyncio.sleep(args["seconds"])
    await ws.send("still here")
    got = await recv(ws)
    await ws.close()
    return {"echo": got}


async def close(url, args):
    ws = await connect(url)
    await asyncio.wait_for(ws.close(args["code"], args["reason"]), TIMEOUT)
    return {"code": ws.close_code, "reason": ws.close_reason}


async def closed_by_server(ws, message):
    """Sends `message`, which makes the server close, and reports the close it sent."""
    await ws.send(message)
    try:
        await recv(ws)
    except ConnectionClosed:
        pass
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    return {"code": ws.close_code, "reason": ws.close_reason}


async def server_close(url, _args):
    return await closed_by_server(await connect(url), "close-me")


def refused_status(err):
    """The HTTP status of a refused handshake, or None when it failed for another reason.

    The legacy client (10.x-13.x) raises InvalidStatusCode with `status_code`; the new one (14.0+,
    where InvalidStatusCode is deprecated) raises InvalidStatus with `response.status_code`.
    """
    response = getattr(err, "response", None)
    return getattr(response if response is not None else err, "status_code", None)


async def protocol(url, args):
    try:
        ws = await connect(url, subprotocols=args["offer"])
    except InvalidHandshake as err:
        status = refused_status(err)
        if status is None:
            raise
        return {"status": status}
    chosen = ws.subprotocol
    await ws.close()
    return {"protocol": chosen}


async def too_big(url, args):
    return await closed_by_server(await connect(url), "x" * args["size"])


SCENARIOS = {
    "echo": echo,
    "fragments": fragments,
    "ping": ping,
    "idle": idle,
    "close": close,
    "server-close": server_close,
    "protocol": protocol,
    "too-big": too_big,
}


def main():
    scenario, url = sys.argv[1], sys.argv[2]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    result = asyncio.run(SCENARIOS[scenario](url, args))
    result["websockets"] = websockets.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
