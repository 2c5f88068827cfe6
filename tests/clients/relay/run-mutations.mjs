// Runs the mutations relay-compiler generated (relay/__generated__) against the live server as
// Relay's network layer would: the artifact's text and variables, POSTed as JSON, signed in
// with a JWT from tokenAuth (USERNAME / PASSWORD). PRODUCT_ID names the product to edit and
// review. Prints, per operation, its kind, status and result. (Outside relay/src: the
// compiler does not read this file.)
import { graphqlUrl, run } from '../lib.mjs';

async function post(body, token) {
  const response = await fetch(graphqlUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, result: await response.json() };
}

async function execute(name, variables, token) {
  const { params } = (await import(`./__generated__/${name}.graphql.js`)).default;
  const { status, result } = await post(
    { query: params.text, operationName: params.name, variables },
    token,
  );
  return { operation: name, operationKind: params.operationKind, status, result };
}

await run(async () => {
  const signIn = await post({
    query: 'mutation ($input: TokenAuthInput!) { tokenAuth(input: $input) { token } }',
    variables: { input: { username: process.env.USERNAME, password: process.env.PASSWORD } },
  });
  const token = signIn.result.data?.tokenAuth?.token;
  if (!token) throw new Error(`tokenAuth failed: ${JSON.stringify(signIn)}`);
  const id = process.env.PRODUCT_ID;
  const results = [
    await execute('ProductPageUpdateMutation', {
      input: { id, name: 'Relay Headphones', clientMutationId: 'relay-1' },
    }, token),
    // The same mutation without a token: a coded top-level error.
    await execute('ProductPageUpdateMutation', {
      input: { id, name: 'Anonymous edit', clientMutationId: 'relay-2' },
    }, null),
    // $connections is Relay's own (for @appendNode); the server never sees it.
    await execute('ProductPageAddReviewMutation', {
      input: { product: id, rating: 5, title: 'Compiled by Relay', clientMutationId: 'relay-3' },
    }, token),
  ];
  return { results };
});
