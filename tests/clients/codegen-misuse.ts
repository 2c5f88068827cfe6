// Wrong uses of the types GraphQL Code Generator writes for operations/*.graphql: each line
// marked `// expect TSnnnn` must be that TypeScript error, and nothing else may be one.
// tests/test_codegen_types.py compiles this with `tsc --noEmit --strict` (as codegen-usage.ts)
// and compares the errors with the marks: the generated types really constrain clients.
import type {
  CatalogPageQuery,
  CatalogPageQueryVariables,
  ProductBySlugQuery,
  ProductUpdatedSubscription,
  SignInMutationVariables,
} from './operations';

// A field the schema does not have.
export function colour(result: CatalogPageQuery) {
  return result.products?.edges[0]?.node?.colour; // expect TS2339
}

// A field the schema has but CatalogPage does not select: types follow the document.
export function description(result: CatalogPageQuery) {
  return result.products?.edges[0]?.node?.description; // expect TS2339
}

// `products` is nullable (an error elsewhere in the document nulls it): --strict says so.
export function total(result: CatalogPageQuery): number {
  return result.products.totalCount; // expect TS18047
}

// A variable of the wrong type, and one the operation does not declare.
export const wrongType: CatalogPageQueryVariables = { first: '10' }; // expect TS2322
export const unknownVariable: CatalogPageQueryVariables = { page: 2 }; // expect TS2353

// A required input field left out.
export const noPassword: SignInMutationVariables = { input: { username: 'staff' } }; // expect TS2741

// A review's rating is a number, not a string.
export function stars(result: ProductBySlugQuery): string {
  return result.product?.reviews.edges[0]?.node?.rating ?? ''; // expect TS2322
}

// The subscription's payload is non-null, but `stock` is not `price`.
export const price: string = ({} as ProductUpdatedSubscription).productUpdated.stock; // expect TS2322
