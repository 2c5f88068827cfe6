// Runs the operations relay-compiler generated (relay/__generated__, written by the compiler
// run in tests/test_relay_compiler.py) against the live server, as Relay's network layer
// would: the artifact's query text and variables, POSTed as JSON. Prints, per operation, the
// status, content type and result. PRODUCT_ID / PRODUCT_SLUG name a product with reviews.
import { graphqlUrl, run } from './lib.mjs';

async function artifact(name) {
  // Relay writes ES modules (`export default`); package.json makes .js files ESM here.
  return (await import(`./relay/__generated__/${name}.graphql.js`)).default;
}

async function execute(name, variables) {
  const { params } = await artifact(name);
  const response = await fetch(graphqlUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
    },
    body: JSON.stringify({ query: params.text, operationName: params.name, variables }),
  });
  return {
    operation: name,
    operationKind: params.operationKind,
    variables,
    status: response.status,
    contentType: response.headers.get('content-type'),
    result: await response.json(),
  };
}

await run(async () => {
  const id = process.env.PRODUCT_ID;
  const slug = process.env.PRODUCT_SLUG;
  const results = [];
  const firstPage = await execute('ProductListQuery', { count: 2 });
  results.push(firstPage);
  const endCursor = firstPage.result.data?.products?.pageInfo?.endCursor ?? null;
  results.push(await execute('ProductListPaginationQuery', { count: 2, cursor: endCursor }));
  results.push(await execute('ProductPageQuery', { id }));
  results.push(await execute('ProductPageBySlugQuery', { slug }));
  results.push(await execute('ProductCardRefetchQuery', { id }));
  const reviews = await execute('ProductReviewsPaginationQuery', { id, count: 1 });
  results.push(reviews);
  const reviewCursor = reviews.result.data?.node?.reviews?.pageInfo?.endCursor ?? null;
  results.push(
    await execute('ProductReviewsPaginationQuery', { id, count: 1, cursor: reviewCursor }),
  );
  return { results };
});
