// Subscribe with a real client library and print one JSON line per thing that happens.
//
// Env: WS_URL (ws://host:port/graphql/), CLIENT ("graphql-ws" | "subscriptions-transport-ws"),
// QUERIES (JSON list of subscription documents), EXPECT (events to wait for, then exit 0),
// CONNECTION_PARAMS (JSON object, optional), ORIGIN (Origin header, default http://localhost).
// SIGN_IN (JSON {username, password}, graphql-ws only): instead of CONNECTION_PARAMS, sign in
// with tokenAuth at HTTP_URL before every connection and retry when the server closes the
// socket (as an app whose token expires would); prints {"kind":"connected","count":n}.
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

const signIn = process.env.SIGN_IN && JSON.parse(process.env.SIGN_IN);

async function freshToken() {
  const response = await fetch(process.env.HTTP_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($input: TokenAuthInput!) { tokenAuth(input: $input) { token } }',
      variables: { input: signIn },
    }),
  });
  const body = await response.json();
  if (!body.data || !body.data.tokenAuth) fail(`tokenAuth failed: ${JSON.stringify(body)}`);
  return body.data.tokenAuth.token;
}

if (library === 'graphql-ws') {
  let connections = 0;
  const client = createClient({
    url,
    webSocketImpl: OriginWebSocket,
    lazy: false,
    connectionParams: signIn
      ? async () => ({ authorization: `Bearer ${await freshToken()}` })
      : connectionParams,
    retryAttempts: signIn ? 5 : 0,
    retryWait: async () => new Promise((resolve) => setTimeout(resolve, 100)),
    on: {
      connected: () => {
        connections += 1;
        if (!signIn) return;
        // Queued after the re-sent subscribes on this socket: answered once they are active.
        client.subscribe({ query: '{ __typename }' }, {
          next: () => {}, error: fail,
          complete: () => print({ kind: 'connected', count: connections }),
        });
      },
      closed: (event) => {
        if (signIn) print({ kind: 'closed', code: event.code });
        else if (received < expected) fail(`closed ${event.code} ${event.reason}`);
      },
    },
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
