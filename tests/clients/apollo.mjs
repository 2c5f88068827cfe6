// Apollo Client 4 (Node, global fetch) against the live server. tests/test_apollo_client.py
// seeds the catalog, runs this script and asserts on what it prints:
//   query      - the first page of `products`, fetched over the network
//   cache      - the normalized cache: entities keyed by `__typename:<global id>`, read back with
//                cache.identify + readFragment, merged across queries, and a `node(id:)` query
//                answered from the cache alone (a redirect by global id, no request)
//   pagination - `products` paged with relayStylePagination + fetchMore over Relay cursors
//   errors     - coded errors as CombinedGraphQLErrors: a field error (data kept), and a
//                validation error, which the server answers with 400 and
//                application/graphql-response+json (the media type Apollo 4 asks for first)
import {
  ApolloClient,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql,
} from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';

import { graphqlUrl, recordingFetch, run } from './lib.mjs';

/** The type name inside a Relay global ID (base64 of "Type:pk"). */
function typeOfGlobalId(id) {
  return Buffer.from(id, 'base64').toString('utf8').split(':')[0];
}

function makeClient(fetchFn, typePolicies = {}) {
  return new ApolloClient({
    link: new HttpLink({ uri: graphqlUrl(), fetch: fetchFn }),
    cache: new InMemoryCache({ typePolicies }),
  });
}

const PRODUCT_FIELDS = gql`
  fragment ProductCard on Product {
    id
    name
    slug
    price
    category {
      id
      name
    }
  }
`;

const PRODUCTS = gql`
  query Products($first: Int!) {
    products(first: $first) {
      totalCount
      edges {
        cursor
        node {
          ...ProductCard
        }
      }
    }
  }
  ${PRODUCT_FIELDS}
`;

const NODE = gql`
  query Node($id: ID!) {
    node(id: $id) {
      id
      ... on Product {
        name
        slug
      }
    }
  }
`;

const PRODUCT_DETAILS = gql`
  query ProductDetails($id: ID!) {
    product(id: $id) {
      id
      description
      reviewCount
    }
  }
`;

async function queryAndCache(fetchFn, exchanges) {
  const client = makeClient(fetchFn, {
    Query: {
      fields: {
        // Any node(id:) already in the cache is read from it: global IDs carry their type.
        node: {
          read(existing, { args, toReference }) {
            return existing ?? toReference({ __typename: typeOfGlobalId(args.id), id: args.id });
          },
        },
      },
    },
  });
  const { data, error } = await client.query({
    query: PRODUCTS,
    variables: { first: 10 },
    fetchPolicy: 'network-only',
  });
  const products = data.products.edges.map((edge) => edge.node);
  const first = products[0];

  const key = client.cache.identify({ __typename: 'Product', id: first.id });
  const card = client.cache.readFragment({
    id: key,
    fragment: PRODUCT_FIELDS,
    fragmentName: 'ProductCard',
  });
  const storeAfterList = client.cache.extract();

  const requestsBefore = exchanges.length;
  const fromCache = await client.query({
    query: NODE,
    variables: { id: first.id },
    fetchPolicy: 'cache-first',
  });
  const nodeRequests = exchanges.length - requestsBefore;

  await client.query({ query: PRODUCT_DETAILS, variables: { id: first.id } });
  const merged = client.cache.readFragment({
    id: key,
    fragment: gql`
      fragment Merged on Product {
        id
        name
        description
        reviewCount
      }
    `,
  });
  const store = client.cache.extract();

  return {
    query: {
      error: error ? String(error) : null,
      totalCount: data.products.totalCount,
      products,
    },
    cache: {
      key,
      card,
      productKeys: Object.keys(store).filter((k) => k.startsWith('Product:')).sort(),
      categoryRef: storeAfterList[key]?.category ?? null,
      node: fromCache.data?.node ?? null,
      nodeRequests,
      merged,
    },
  };
}

async function pagination(fetchFn) {
  const client = makeClient(fetchFn, {
    Query: { fields: { products: relayStylePagination() } },
  });
  const query = gql`
    query ProductPage($first: Int!, $after: String) {
      products(first: $first, after: $after) {
        edges {
          cursor
          node {
            id
            name
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  `;
  const observable = client.watchQuery({ query, variables: { first: 2 } });
  const firstPage = await client.query({ query, variables: { first: 2 } });
  const pages = [firstPage.data.products.edges.map((edge) => edge.node.name)];
  let pageInfo = firstPage.data.products.pageInfo;
  while (pageInfo.hasNextPage && pages.length < 10) {
    const next = await observable.fetchMore({ variables: { after: pageInfo.endCursor } });
    pages.push(next.data.products.edges.map((edge) => edge.node.name));
    pageInfo = next.data.products.pageInfo;
  }
  const merged = client.readQuery({ query, variables: { first: 2 } });
  return {
    pages,
    mergedNames: merged.products.edges.map((edge) => edge.node.name),
    hasNextPage: pageInfo.hasNextPage,
  };
}

function describeError(error) {
  return {
    isCombinedGraphQLErrors: CombinedGraphQLErrors.is(error),
    name: error?.name ?? null,
    message: error?.message ?? String(error),
    errors: (error?.errors ?? []).map((e) => ({
      message: e.message,
      path: e.path ?? null,
      code: e.extensions?.code ?? null,
    })),
  };
}

async function errors(fetchFn, exchanges) {
  const client = makeClient(fetchFn);
  const badId = gql`
    query BadId {
      product(id: "bad") {
        id
        name
      }
    }
  `;
  // errorPolicy "none" (the default): the query rejects with the error.
  let thrown = null;
  try {
    await client.query({ query: badId });
  } catch (error) {
    thrown = describeError(error);
  }
  // errorPolicy "all": the partial data comes back beside the error.
  const all = await client.query({ query: badId, errorPolicy: 'all', fetchPolicy: 'network-only' });

  const before = exchanges.length;
  const invalid = await client.query({
    query: gql`
      query Invalid {
        product(slug: "x") {
          noSuchField
        }
      }
    `,
    errorPolicy: 'all',
  });
  const invalidExchange = exchanges.slice(before)[0] ?? null;

  return {
    fieldError: {
      thrown,
      all: { data: all.data ?? null, error: all.error ? describeError(all.error) : null },
    },
    validationError: {
      data: invalid.data ?? null,
      error: invalid.error ? describeError(invalid.error) : null,
      status: invalidExchange?.status ?? null,
      contentType: invalidExchange?.contentType ?? null,
    },
  };
}

// PENDING: mutations. The schema has no mutation yet. When one lands, add `mutation()` here:
// client.mutate(...) and check that the returned object updates the cached entity of the same
// global id (cache.identify / readFragment), and that a coded error arrives as
// CombinedGraphQLErrors.

// PENDING: subscriptions. None exist yet. When one lands, add `subscription()` here: a client
// whose link is split(isSubscription, new GraphQLWsLink(createClient({url: WS_URL})), httpLink)
// (@apollo/client/link/subscriptions + npm graphql-ws, ws; pin both in package.json), then
// subscribe, trigger an event over HTTP and check the payload. LiveServer.ws_url gives WS_URL.

await run(async () => {
  const { fetchFn, exchanges } = recordingFetch();
  const result = {
    ...(await queryAndCache(fetchFn, exchanges)),
    pagination: await pagination(fetchFn),
    errors: await errors(fetchFn, exchanges),
  };
  result.exchanges = exchanges;
  return result;
});
