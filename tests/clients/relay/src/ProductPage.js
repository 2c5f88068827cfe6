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

// Edit a product. Relay's classic mutation input: `input` with a `clientMutationId` that the
// payload echoes. The returned product refreshes the page's fragment in the store.
export const productPageUpdateMutation = graphql`
  mutation ProductPageUpdateMutation($input: UpdateProductInput!) {
    updateProduct(input: $input) {
      clientMutationId
      errors {
        field
        message
        code
      }
      product {
        id
        name
        price
        ...ProductPage_product
      }
    }
  }
`;

// Review a product: the new review is appended to the page's ProductReviews_reviews
// connection(s) passed in $connections (ConnectionHandler.getConnectionID).
export const productPageAddReviewMutation = graphql`
  mutation ProductPageAddReviewMutation($input: AddReviewInput!, $connections: [ID!]!) {
    addReview(input: $input) {
      clientMutationId
      errors {
        field
        message
        code
      }
      review @appendNode(connections: $connections, edgeTypeName: "ReviewEdge") {
        id
        rating
        title
        author {
          id
          username
        }
      }
    }
  }
`;
