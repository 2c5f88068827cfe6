// A TypeScript client's use of the types GraphQL Code Generator writes for operations/*.graphql
// (operations.ts, and schema-types.ts for the schema's own types; codegen-types.mjs generates
// both next to a copy of this file). tests/test_codegen_types.py compiles it with
// `tsc --noEmit --strict`: it must compile without an error.
import type {
  CatalogPageQuery,
  CatalogPageQueryVariables,
  CreateProductMutation,
  CreateProductMutationVariables,
  ProductBySlugQuery,
  ProductBySlugQueryVariables,
  ProductUpdatedSubscription,
  ProductUpdatedSubscriptionVariables,
  SignInMutation,
  SignInMutationVariables,
} from './operations';
import type { Product, TokenAuthInput } from './schema-types';

// Variables: every one of CatalogPage's is optional; `after` is a cursor from pageInfo.
export const firstPage: CatalogPageQueryVariables = { first: 20, search: 'headphones' };
export const inStockOnly: CatalogPageQueryVariables = { inStock: true };

export function nextPage(result: CatalogPageQuery): CatalogPageQueryVariables | null {
  const pageInfo = result.products?.pageInfo;
  return pageInfo?.hasNextPage ? { ...firstPage, after: pageInfo.endCursor } : null;
}

/** A product card per product: connections' edges and nodes are nullable, as in the schema. */
export function productCards(result: CatalogPageQuery): { name: string; price: string; image?: string }[] {
  return (result.products?.edges ?? []).flatMap((edge) => {
    const node = edge?.node;
    if (!node) return [];
    const image = node.images.find((candidate) => candidate.isPrimary) ?? node.images[0];
    return [{ name: node.name, price: node.price, image: image?.url }];
  });
}

export const productPage: ProductBySlugQueryVariables = { slug: 'studio-headphones', reviews: 3 };

export function reviewLines(result: ProductBySlugQuery): string[] {
  const product = result.product;
  if (product === null) return ['No such product.'];
  return product.reviews.edges.flatMap((edge) =>
    edge?.node ? [`${edge.node.rating}/5 ${edge.node.title} (${edge.node.author.username})`] : [],
  );
}

export function breadcrumbs(result: ProductBySlugQuery): string[] {
  const category = result.product?.category;
  return category ? [...category.ancestors.map((ancestor) => ancestor.name), category.name] : [];
}

// Input types come from schema-types.ts: operations.ts imports them.
const credentials: TokenAuthInput = { username: 'staff', password: 'a password', cookie: false };
export const signIn: SignInMutationVariables = { input: credentials };

export function authorization(result: SignInMutation): { Authorization: string } | null {
  const token = result.tokenAuth?.token;
  return token ? { Authorization: `Bearer ${token}` } : null;
}

export const lamp: CreateProductMutationVariables = {
  input: { name: 'Desk Lamp', price: '49.90', category: 'Q2F0ZWdvcnk6MQ==', stock: 3 },
};

export function created(result: CreateProductMutation): string {
  const payload = result.createProduct;
  if (!payload) return 'no answer';
  if (payload.errors.length) {
    return payload.errors.map((error) => `${error.field ?? 'input'}: ${error.message}`).join('; ');
  }
  return payload.product ? `${payload.product.name} in ${payload.product.category.name}` : 'none';
}

export const oneProduct: ProductUpdatedSubscriptionVariables = { id: 'UHJvZHVjdDox' };

export function priceChange(event: ProductUpdatedSubscription, before: string): string | null {
  const { name, price } = event.productUpdated;
  return price === before ? null : `${name}: ${before} → ${price}`;
}

// The schema's object types, for code that handles products from any operation.
export function label(product: Pick<Product, 'name' | 'price' | 'isAvailable'>): string {
  return `${product.name} (${product.price})${product.isAvailable ? '' : ', sold out'}`;
}
