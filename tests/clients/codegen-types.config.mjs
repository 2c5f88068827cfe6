// GraphQL Code Generator's config for tests/clients/codegen-types.mjs: TypeScript types for the
// documented client operations (operations/*.graphql) from the live server's schema (its URL,
// introspected), written to CODEGEN_DIR as two files, the shared-types layout codegen documents:
//   schema-types.ts  the `typescript` plugin: every type of the schema (Product, inputs, enums);
//   operations.ts    the `typescript-operations` plugin: each operation's result and variables
//                    (CatalogPageQuery, CatalogPageQueryVariables, ...), importing the inputs
//                    and enums they use from schema-types.ts.
//
// Scalars: Decimal (prices) and DateTime travel as strings; any other custom scalar is
// `unknown`, never `any`, so a client must check what it reads.
import { join, relative } from 'node:path';

const dir = process.env.CODEGEN_DIR;
const schemaTypes = join(dir, 'schema-types.ts');
const scalars = {
  scalars: { Decimal: 'string', DateTime: 'string' },
  defaultScalarType: 'unknown',
};

export default {
  overwrite: true,
  silent: true,
  schema: process.env.CODEGEN_SCHEMA || process.env.GRAPHQL_URL,
  documents: ['operations/*.graphql'],
  generates: {
    [schemaTypes]: { plugins: ['typescript'], config: scalars },
    [join(dir, 'operations.ts')]: {
      plugins: ['typescript-operations'],
      config: {
        ...scalars,
        // Relative to the working directory (tests/clients), as codegen wants it.
        importSchemaTypesFrom: relative(process.cwd(), schemaTypes),
      },
    },
  },
};
