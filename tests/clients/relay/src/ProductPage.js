// A product page, by global id (node) or by slug.
import { graphql } from 'relay-runtime';

export const productPageQuery = graphql`
  query ProductPageQuery($id: ID!) {
    node(id: $id) {
      __typename
      # @alias: node may be any Node type; the fragment is present only for a Product.
      ...ProductPage_product @alias
    }
  }
`;

export const productBySlugQuery = graphql`
  query ProductPageBySlugQuery($slug: String!) {
    product(slug: $slug) {
      ...ProductPage_product
    }
  }
`;

export const productPageFragment = graphql`
  fragment ProductPage_product on Product {
    id
    name
    description
    ...ProductCard_product
    ...ProductReviews_product
    images {
      id
      url
      altText
      isPrimary
    }
    relatedProducts(first: 4) {
      id
      ...ProductCard_product
    }
  }
`;

// PENDING: mutations. The schema has no mutation yet; when one lands, add a
// `<Module>Mutation` here (e.g. adding a review with @appendEdge on
// ProductReviews_reviews) so the compiler checks it too.
