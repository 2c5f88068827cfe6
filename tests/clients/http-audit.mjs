// The GraphQL-over-HTTP audit suite of `graphql-http` against the live server.
// Prints {results: [{id, name, status, reason, response}], exchanges: [...]}.
import { serverAudits } from 'graphql-http';

import { graphqlUrl, recordingFetch, run } from './lib.mjs';

async function describe(response) {
  if (!response) return null;
  let body = null;
  try {
    body = await response.clone().text();
  } catch {
    body = '<body already read>';
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: body && body.slice(0, 500),
  };
}

await run(async () => {
  const { fetchFn, exchanges } = recordingFetch();
  const results = [];
  for (const audit of serverAudits({ url: graphqlUrl(), fetchFn })) {
    const result = await audit.fn();
    results.push({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason ?? null,
      response: result.status === 'ok' ? null : await describe(result.response),
    });
  }
  return { results, exchanges };
});
