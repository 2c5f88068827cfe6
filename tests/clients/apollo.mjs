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
//   signIn     - tokenAuth (USERNAME / PASSWORD of a staff user): the JWT for what follows
//   mutations  - createProduct / updateProduct with variables and `Authorization: Bearer`:
//                the payloads update the normalized cache (a cached, watched query reads the
//                update without a request); UNAUTHENTICATED as CombinedGraphQLErrors; input
//                problems as `errors { field message code }` in the payload
//   subscriptions - productCreated and productUpdated(id:) through GraphQLWsLink (graphql-ws
//                over `ws`, token in the connection_init payload; WS_URL), each event sent
//                by the server after a mutation over HTTP from another client
//   insertWhilePaging - relayStylePagination by price while another client creates a product
//                cheaper than the first page between two fetchMore calls (keyset cursors)
import {
  ApolloClient,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql,
  split,
} from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

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

// An infinite list by price: after the first page, another client creates a product that sorts
// before it. With offset cursors the next page would repeat the first page's last item, and
// relayStylePagination would render it twice.
async function insertWhilePaging(fetchFn, token) {
  const client = makeClient(fetchFn, {
    Query: { fields: { products: relayStylePagination(['orderBy']) } },
  });
  const query = gql`
    query PriceList($first: Int!, $after: String) {
      products(first: $first, after: $after, orderBy: "price") {
        edges { cursor node { id name } }
        pageInfo { hasNextPage endCursor }
      }
    }
  `;
  const observable = client.watchQuery({ query, variables: { first: 2 } });
  const first = await client.query({ query, variables: { first: 2 } });
  const { data } = await authedClient(fetchFn, token).mutate({
    mutation: gql`
      mutation Cheaper($input: CreateProductInput!) {
        createProduct(input: $input) { product { id name } errors { field message } }
      }
    `,
    variables: { input: {
      name: 'Bargain Cable', price: '0.50', stock: 3, isPublished: true,
      category: process.env.CATEGORY_ID,
    } },
  });
  let pageInfo = first.data.products.pageInfo;
  let loads = 1;
  while (pageInfo.hasNextPage && loads < 10) {
    const next = await observable.fetchMore({ variables: { after: pageInfo.endCursor } });
    pageInfo = next.data.products.pageInfo;
    loads += 1;
  }
  const merged = client.readQuery({ query, variables: { first: 2 } });
  return {
    created: data.createProduct,
    firstPage: first.data.products.edges.map((edge) => edge.node.name),
    mergedNames: merged.products.edges.map((edge) => edge.node.name),
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

const PRODUCT_PAYLOAD = gql`
  fragment Payload on Product {
    id
    name
    price
    stock
    isPublished
    category {
      id
      name
    }
  }
`;

const SIGN_IN = gql`
  mutation SignIn($input: TokenAuthInput!) {
    tokenAuth(input: $input) {
      token
      user {
        id
        username
      }
      errors {
        field
        message
        code
      }
    }
  }
`;

const CREATE_PRODUCT = gql`
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      product {
        ...Payload
      }
      errors {
        field
        message
        code
      }
      clientMutationId
    }
  }
  ${PRODUCT_PAYLOAD}
`;

const UPDATE_PRODUCT = gql`
  mutation UpdateProduct($input: UpdateProductInput!) {
    updateProduct(input: $input) {
      product {
        id
        name
        price
      }
      errors {
        field
        message
        code
      }
      clientMutationId
    }
  }
`;

const PRODUCT_SUMMARY = gql`
  query ProductSummary($id: ID!) {
    product(id: $id) {
      id
      name
      price
    }
  }
`;

/** A client whose HTTP requests carry `Authorization: Bearer <token>`. */
function authedClient(fetchFn, token) {
  return new ApolloClient({
    link: new HttpLink({
      uri: graphqlUrl(),
      fetch: fetchFn,
      headers: { authorization: `Bearer ${token}` },
    }),
    cache: new InMemoryCache(),
  });
}

/** Sign in with tokenAuth (USERNAME / PASSWORD): the JWT. */
async function signIn(fetchFn) {
  const { data } = await makeClient(fetchFn).mutate({
    mutation: SIGN_IN,
    variables: {
      input: { username: process.env.USERNAME, password: process.env.PASSWORD },
    },
  });
  return data.tokenAuth;
}

/** The next value of `values` (an array filled by a subscription) past index `count`. */
function nextEvent(values, count, what, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (values.length > count) resolve(values[count]);
      else if (Date.now() - started > timeoutMs) reject(new Error(`no ${what} in ${timeoutMs} ms`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

// Mutations over HTTP with a JWT: the returned objects land in the normalized cache, so a
// query cached before the update reads the new values without a request; input problems come
// back as `errors` in the payload, missing credentials as a coded CombinedGraphQLErrors.
async function mutations(fetchFn, exchanges, token) {
  const categoryId = process.env.CATEGORY_ID;
  const anonymous = makeClient(fetchFn);
  let unauthenticated = null;
  try {
    await anonymous.mutate({
      mutation: CREATE_PRODUCT,
      variables: { input: { name: 'Nope', price: '1.00', category: categoryId } },
    });
  } catch (error) {
    unauthenticated = describeError(error);
  }

  const client = authedClient(fetchFn, token);
  const created = await client.mutate({
    mutation: CREATE_PRODUCT,
    variables: {
      input: {
        name: 'Apollo Turntable',
        description: 'Made by Apollo Client.',
        price: '349.90',
        stock: 3,
        category: categoryId,
        isPublished: true,
        clientMutationId: 'apollo-create-1',
      },
    },
  });
  const product = created.data.createProduct.product;
  const key = client.cache.identify(product);
  const cachedAfterCreate = client.cache.readFragment({
    id: key,
    fragment: PRODUCT_PAYLOAD,
    fragmentName: 'Payload',
  });

  // A query cached (and watched) before the update...
  const summary = await client.query({
    query: PRODUCT_SUMMARY,
    variables: { id: product.id },
    fetchPolicy: 'network-only',
  });
  const watched = [];
  const watch = client
    .watchQuery({ query: PRODUCT_SUMMARY, variables: { id: product.id }, fetchPolicy: 'cache-only' })
    .subscribe(({ data }) => data?.product && watched.push(data.product));

  const before = exchanges.length;
  const updated = await client.mutate({
    mutation: UPDATE_PRODUCT,
    variables: {
      input: { id: product.id, name: 'Apollo Turntable II', price: '299.00', clientMutationId: 'apollo-update-1' },
    },
  });
  // ...reads the update from the cache: no request besides the mutation itself.
  const afterUpdate = client.readQuery({ query: PRODUCT_SUMMARY, variables: { id: product.id } });
  const cacheFirst = await client.query({
    query: PRODUCT_SUMMARY,
    variables: { id: product.id },
    fetchPolicy: 'cache-first',
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const requestsForUpdate = exchanges.slice(before).map((e) => ({ method: e.method, status: e.status }));
  watch.unsubscribe();

  const invalid = await client.mutate({
    mutation: CREATE_PRODUCT,
    variables: { input: { name: 'Free lunch', price: '0', category: categoryId } },
  });

  return {
    unauthenticated,
    created: {
      payload: created.data.createProduct,
      key,
      cached: cachedAfterCreate,
    },
    update: {
      before: summary.data.product,
      payload: updated.data.updateProduct,
      cached: afterUpdate?.product ?? null,
      cacheFirst: cacheFirst.data?.product ?? null,
      watched,
      requests: requestsForUpdate,
    },
    invalid: invalid.data.createProduct,
  };
}

const PRODUCT_CREATED = gql`
  subscription OnProductCreated {
    productCreated {
      id
      name
      price
    }
  }
`;

const PRODUCT_UPDATED = gql`
  subscription OnProductUpdated($id: ID) {
    productUpdated(id: $id) {
      id
      name
      price
    }
  }
`;

// Subscriptions through GraphQLWsLink (graphql-ws over `ws`, signed in by the connection_init
// payload), split from the HTTP link. Another client (HTTP only) writes; the events arrive
// over the socket and Apollo writes them into the subscriber's normalized cache.
async function subscriptions(fetchFn, token) {
  const categoryId = process.env.CATEGORY_ID;
  const wsUrl = process.env.WS_URL || graphqlUrl().replace(/^http/, 'ws');
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  // GraphQLWsLink calls client.subscribe when Apollo starts a subscription; count the calls
  // so a probe can be sent after it on the same socket.
  let linkSubscribes = 0;
  const linkClient = new Proxy(wsClient, {
    get(target, name) {
      if (name === 'subscribe') {
        return (...args) => {
          linkSubscribes += 1;
          return target.subscribe(...args);
        };
      }
      const value = target[name];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  /** Resolves once the server answered a query sent after every subscription so far: the
   * server handles a socket's messages in order, so those subscriptions are registered. */
  async function registered(expected) {
    const started = Date.now();
    while (linkSubscribes < expected) {
      if (Date.now() - started > 10_000) throw new Error('the link never subscribed');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve, reject) => {
      wsClient.subscribe({ query: '{ __typename }' }, { next() {}, error: reject, complete: resolve });
    });
  }

  const httpLink = new HttpLink({ uri: graphqlUrl(), fetch: fetchFn });
  const subscriber = new ApolloClient({
    link: split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(linkClient),
      httpLink,
    ),
    cache: new InMemoryCache(),
  });
  const writer = authedClient(fetchFn, token);

  try {
    const createdEvents = [];
    const errors = [];
    const createdSub = subscriber.subscribe({ query: PRODUCT_CREATED }).subscribe({
      next: (result) => (result.error ? errors.push(describeError(result.error)) : createdEvents.push(result.data)),
      error: (error) => errors.push(describeError(error)),
    });
    await registered(1);
    const created = await writer.mutate({
      mutation: CREATE_PRODUCT,
      variables: {
        input: { name: 'Live Turntable', price: '120.00', category: categoryId, isPublished: true },
      },
    });
    const createdEvent = await nextEvent(createdEvents, 0, 'productCreated event');
    const id = created.data.createProduct.product.id;

    const updatedEvents = [];
    const updatedSub = subscriber.subscribe({ query: PRODUCT_UPDATED, variables: { id } }).subscribe({
      next: (result) => (result.error ? errors.push(describeError(result.error)) : updatedEvents.push(result.data)),
      error: (error) => errors.push(describeError(error)),
    });
    await registered(2);
    await writer.mutate({
      mutation: UPDATE_PRODUCT,
      variables: { input: { id, name: 'Live Turntable (sale)', price: '99.00' } },
    });
    const updatedEvent = await nextEvent(updatedEvents, 0, 'productUpdated event');
    // Both events named the same entity: the subscriber's cache holds its latest state.
    const cached = subscriber.cache.readFragment({
      id: subscriber.cache.identify({ __typename: 'Product', id }),
      fragment: gql`
        fragment Live on Product {
          id
          name
          price
        }
      `,
    });
    createdSub.unsubscribe();
    updatedSub.unsubscribe();
    return {
      createdId: id,
      created: createdEvent,
      updated: updatedEvent,
      cached,
      createdEvents,
      updatedEvents,
      errors,
    };
  } finally {
    await wsClient.dispose();
  }
}

await run(async () => {
  const { fetchFn, exchanges } = recordingFetch();
  const result = {
    ...(await queryAndCache(fetchFn, exchanges)),
    pagination: await pagination(fetchFn),
    errors: await errors(fetchFn, exchanges),
  };
  const signedIn = await signIn(fetchFn);
  result.signIn = { user: signedIn.user, errors: signedIn.errors, hasToken: Boolean(signedIn.token) };
  result.mutations = await mutations(fetchFn, exchanges, signedIn.token);
  result.subscriptions = await subscriptions(fetchFn, signedIn.token);
  result.insertWhilePaging = await insertWhilePaging(globalThis.fetch, signedIn.token);
  result.exchanges = exchanges;
  return result;
});
