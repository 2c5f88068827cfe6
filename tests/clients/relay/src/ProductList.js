// The catalog page: `products` paginated with @connection, refetchable to page forwards.
import { graphql } from 'relay-runtime';

export const productListQuery = graphql`
  query ProductListQuery($count: Int = 20, $cursor: String, $search: String) {
    ...ProductList_query @arguments(count: $count, cursor: $cursor, search: $search)
  }
`;

export const productListFragment = graphql`
  fragment ProductList_query on Query
  @refetchable(queryName: "ProductListPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 20 }
    cursor: { type: "String" }
    search: { type: "String" }
  ) {
    products(first: $count, after: $cursor, search: $search)
      @connection(key: "ProductList_products", filters: ["search"]) {
      totalCount
      edges {
        node {
          id
          ...ProductCard_product
        }
      }
    }
  }
`;
