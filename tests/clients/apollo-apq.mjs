// Apollo Client's PersistedQueryLink (automatic persisted queries) against the real server:
// the first request sends only the hash (miss), the link resends with the query (register),
// a fresh client then gets its answer from the hash alone, over GET.
import { createHash } from 'node:crypto';

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

import { graphqlUrl, recordingFetch, run } from './lib.mjs';

const QUERY = gql`
  query ApqCatalog {
    products(first: 3, orderBy: "name") { totalCount edges { node { id name } } }
  }
`;

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

function client(fetchFn) {
  const persisted = new PersistedQueryLink({ sha256, useGETForHashedQueries: true });
  return new ApolloClient({
    link: persisted.concat(new HttpLink({ uri: graphqlUrl(), fetch: fetchFn })),
    cache: new InMemoryCache(),
  });
}

/** What the link sent in each exchange: method, whether a query text or a hash went along. */
function describe(exchanges, bodies) {
  return exchanges.map((exchange, index) => {
    const url = new URL(exchange.url);
    const sent = exchange.method === 'GET'
      ? Object.fromEntries(url.searchParams)
      : JSON.parse(bodies[index] || '{}');
    const extensions = typeof sent.extensions === 'string' ? JSON.parse(sent.extensions) : sent.extensions;
    return {
      method: exchange.method,
      status: exchange.status,
      sentQuery: Boolean(sent.query),
      hash: extensions?.persistedQuery?.sha256Hash ?? null,
    };
  });
}

function recorder() {
  const { fetchFn, exchanges } = recordingFetch();
  const bodies = [];
  const withBodies = (input, init = {}) => {
    bodies.push(init.body ?? null);
    return fetchFn(input, init);
  };
  return { fetchFn: withBodies, exchanges, bodies };
}

run(async () => {
  const first = recorder();
  const registering = await client(first.fetchFn).query({ query: QUERY, fetchPolicy: 'network-only' });

  const second = recorder();
  const hit = await client(second.fetchFn).query({ query: QUERY, fetchPolicy: 'network-only' });

  return {
    registering: { names: registering.data.products.edges.map((e) => e.node.name),
                   exchanges: describe(first.exchanges, first.bodies) },
    hit: { names: hit.data.products.edges.map((e) => e.node.name),
           exchanges: describe(second.exchanges, second.bodies) },
  };
});
