// Subscribe over Server-Sent Events with the real graphql-sse client (distinct connections
// mode) and print one JSON line per thing that happens.
//
// Env: HTTP_URL (http://host:port/graphql/), OPERATIONS (JSON list of {query, variables}),
// EXPECT (events to wait for, then exit 0), HEADERS (JSON object, optional).
// Lines: {"kind":"ready"} once every operation's stream is open (the server registers a
// subscription before it answers), {"kind":"event","index":i,"payload":...},
// {"kind":"complete","index":i}, {"kind":"done"}, or {"kind":"failed","error":...} (exit 1).
// After the expected events, or on SIGTERM, every stream is disposed (the client goes away)
// and the script exits.
import { createClient } from 'graphql-sse';

const operations = JSON.parse(process.env.OPERATIONS);
const expected = Number(process.env.EXPECT || '1');
const headers = JSON.parse(process.env.HEADERS || '{}');

const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const fail = (error) => {
  print({ kind: 'failed', error: String((error && error.message) || JSON.stringify(error)) });
  process.exit(1);
};

const client = createClient({ url: process.env.HTTP_URL, headers, retryAttempts: 0 });
process.on('SIGTERM', () => {
  client.dispose();
  setTimeout(() => process.exit(0), 200);
});
setTimeout(() => fail(`timed out with ${received}/${expected} events`), 60_000).unref();

let received = 0;
let open = 0;
operations.forEach((operation, index) => {
  client.subscribe(operation, {
    next: (payload) => {
      print({ kind: 'event', index, payload });
      received += 1;
      if (received === expected) {
        print({ kind: 'done' });
        client.dispose();
        setTimeout(() => process.exit(0), 50);
      }
    },
    error: fail,
    complete: () => print({ kind: 'complete', index }),
  }, {
    connected: () => {
      open += 1;
      if (open === operations.length) print({ kind: 'ready' });
    },
  });
});
