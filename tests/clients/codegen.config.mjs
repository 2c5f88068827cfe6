// GraphQL Code Generator's config for tests/clients/codegen-schema.mjs: the live server's URL
// as the schema (codegen introspects it with @graphql-tools/url-loader), written back as SDL by
// the schema-ast plugin to CODEGEN_OUT.
export default {
  overwrite: true,
  silent: true,
  schema: process.env.GRAPHQL_URL,
  generates: {
    [process.env.CODEGEN_OUT]: { plugins: ['schema-ast'] },
  },
};
