// One product in a list: a plain fragment, refetchable by its global id through `node`.
import { graphql } from 'relay-runtime';

export const productCardFragment = graphql`
  fragment ProductCard_product on Product
  @refetchable(queryName: "ProductCardRefetchQuery") {
    id
    name
    slug
    price
    isAvailable
    avgRating
    category {
      id
      name
    }
  }
`;
