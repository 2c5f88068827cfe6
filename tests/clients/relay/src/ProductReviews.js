// A product's reviews, newest first: @connection pagination on a node's field, refetched
// through `node(id:)` (Relay's Node interface).
import { graphql } from 'relay-runtime';

export const productReviewsFragment = graphql`
  fragment ProductReviews_product on Product
  @refetchable(queryName: "ProductReviewsPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 10 }
    cursor: { type: "String" }
  ) {
    reviewCount
    reviews(first: $count, after: $cursor) @connection(key: "ProductReviews_reviews") {
      totalCount
      edges {
        node {
          id
          rating
          title
          body
          createdAt
          author {
            id
            username
          }
        }
      }
    }
  }
`;
