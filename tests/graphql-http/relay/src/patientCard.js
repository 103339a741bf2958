// What a Relay app of HPMS writes: a patient card as a refetchable fragment, which the Relay
// compiler turns into a query through `node(id:)`, and a page that reads one patient by its
// global id. Only the compiler reads this file (relay.mjs runs what it generates).
export const patientCard = graphql`
  fragment patientCard_patient on Patient
  @refetchable(queryName: "PatientCardRefetchQuery") {
    nodeId
    firstName
    lastName
    dateOfBirth
  }
`;

export const patientPage = graphql`
  query patientCardPageQuery($id: ID!) {
    node(id: $id) {
      __typename
      ...patientCard_patient @alias(as: "patient")
    }
  }
`;
