// graphql-js's own introspection against the live server: `getIntrospectionQuery` with every
// option of graphql 16 on (descriptions, specifiedByUrl, directiveIsRepeatable,
// schemaDescription, inputValueDeprecation, experimentalDirectiveDeprecation, oneOf; the
// default typeDepth of 9), POSTed as JSON, then `buildClientSchema` of the answer.
// Prints the status, the errors, the names of Product's fields and the printed SDL.
import {
  buildClientSchema,
  getIntrospectionQuery,
  printSchema,
} from 'graphql';

import { graphqlUrl, run } from './lib.mjs';

const OPTIONS = {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  experimentalDirectiveDeprecation: true,
  oneOf: true,
};

await run(async () => {
  const query = getIntrospectionQuery(OPTIONS);
  const response = await fetch(graphqlUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
    },
    body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
  });
  const body = await response.json();
  let schema = null;
  let buildError = null;
  if (body.data) {
    try {
      schema = buildClientSchema(body.data);
    } catch (error) {
      buildError = String(error);
    }
  }
  const product = schema?.getType('Product');
  return {
    options: OPTIONS,
    ofTypeLevels: (query.match(/ofType/g) || []).length,
    status: response.status,
    contentType: response.headers.get('content-type'),
    errors: body.errors ?? null,
    hasData: Boolean(body.data),
    buildError,
    queryType: schema?.getQueryType()?.name ?? null,
    subscriptionType: schema?.getSubscriptionType()?.name ?? null,
    productFields: product ? Object.keys(product.getFields()) : null,
    sdl: schema ? printSchema(schema) : null,
  };
});
