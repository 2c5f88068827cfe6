// Subscribe with a real client library and print one JSON line per thing that happens.
//
// Env: WS_URL (ws://host:port/graphql/), CLIENT ("graphql-ws" | "subscriptions-transport-ws"),
// QUERIES (JSON list of subscription documents), EXPECT (events to wait for, then exit 0),
// CONNECTION_PARAMS (JSON object, optional), ORIGIN (Origin header, default http://localhost).
// Lines: {"kind":"ready"} once every subscription is registered server-side (a query sent
// after them on the same socket has answered), {"kind":"event","index":i,"payload":...},
// {"kind":"done"}, or {"kind":"failed","error":...} (exit 1).
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import transport from 'subscriptions-transport-ws';

const { SubscriptionClient } = transport;
const url = process.env.WS_URL;
const library = process.env.CLIENT || 'graphql-ws';
const queries = JSON.parse(process.env.QUERIES);
const expected = Number(process.env.EXPECT || '1');
const connectionParams = JSON.parse(process.env.CONNECTION_PARAMS || '{}');
const origin = process.env.ORIGIN || 'http://localhost';

const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const fail = (error) => {
  print({ kind: 'failed', error: String(error && (error.message || error.reason || JSON.stringify(error))) });
  process.exit(1);
};

class OriginWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers: { origin } });
  }
}

let received = 0;
function onEvent(index, payload) {
  print({ kind: 'event', index, payload });
  received += 1;
  if (received >= expected) {
    print({ kind: 'done' });
    setTimeout(() => process.exit(0), 50);
  }
}

setTimeout(() => fail(`timed out with ${received}/${expected} events`), 60_000).unref();

if (library === 'graphql-ws') {
  const client = createClient({
    url, webSocketImpl: OriginWebSocket, connectionParams, retryAttempts: 0, lazy: false,
    on: { closed: (event) => received < expected && fail(`closed ${event.code} ${event.reason}`) },
  });
  queries.forEach((query, index) => {
    client.subscribe({ query }, {
      next: (payload) => onEvent(index, payload),
      error: fail,
      complete: () => {},
    });
  });
  client.subscribe({ query: '{ __typename }' }, {
    next: () => {}, error: fail, complete: () => print({ kind: 'ready' }),
  });
} else if (library === 'subscriptions-transport-ws') {
  const client = new SubscriptionClient(url, { reconnect: false, connectionParams }, OriginWebSocket);
  client.onDisconnected(() => received < expected && fail('disconnected'));
  client.onError((error) => fail(error));
  queries.forEach((query, index) => {
    client.request({ query }).subscribe({
      next: (payload) => onEvent(index, payload),
      error: fail,
    });
  });
  client.request({ query: '{ __typename }' }).subscribe({
    next: () => {}, error: fail, complete: () => print({ kind: 'ready' }),
  });
} else {
  fail(`unknown CLIENT ${library}`);
}
