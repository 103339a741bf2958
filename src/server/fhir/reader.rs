//! How a FHIR interaction reads: as one GraphQL operation of the public schema, run by
//! `Api::execute` with the request's own credential. So FHIR has no rules of its own: the tenant
//! transaction, RLS, the role and scope checks, the masking of what a caller may not see and
//! the audit of every PHI read are the very ones GraphQL applies, and a refusal carries the
//! message GraphQL gives.

use async_graphql::{Request, Variables};
use serde_json::Value;

use crate::foundation::telemetry::RequestId;
use crate::identity::{ClientAddress, Credential};
use crate::server::execution::Api;
use crate::server::fhir::outcome::Outcome;

/// Who a FHIR request reads as.
pub struct Reader<'a> {
    pub api: &'a Api,
    pub request_id: &'a RequestId,
    pub client: ClientAddress,
    pub credential: Option<Credential>,
}

impl Reader<'_> {
    /// Whether the caller is a partner system's API key (which reaches patients and providers
    /// only through appointments, as in GraphQL).
    pub fn is_partner(&self) -> bool {
        matches!(self.credential, Some(Credential::ApiKey(_)))
    }

    /// Runs `query` and returns its data. An error at a root field (or with no path) refuses the
    /// whole interaction; a FORBIDDEN deeper down is a field the caller may not see, left out of
    /// the resource as GraphQL leaves it null; any other error deeper down refuses too (a
    /// resource is never answered with a part silently missing for another reason).
    pub async fn read(&self, query: &str, variables: Value) -> Result<Value, Outcome> {
        self.read_masking(query, variables, true).await
    }

    /// As `read`, but a FORBIDDEN anywhere refuses: for a read whose resource is the field the
    /// caller may not see (a partner's Patient, reached through an appointment).
    pub async fn read_unmasked(&self, query: &str, variables: Value) -> Result<Value, Outcome> {
        self.read_masking(query, variables, false).await
    }

    async fn read_masking(
        &self,
        query: &str,
        variables: Value,
        masking: bool,
    ) -> Result<Value, Outcome> {
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        if let Err(error) = self.api.prepare(&mut request).await {
            return Err(refusal(
                &serde_json::to_value(error.into_server_error()).unwrap_or_default(),
            ));
        }
        let request = request.data(self.client);
        let response = self
            .api
            .execute(
                self.request_id,
                self.client,
                self.credential.clone(),
                request,
            )
            .await;
        let answer = serde_json::to_value(&response).unwrap_or_default();
        let errors = answer["errors"].as_array().cloned().unwrap_or_default();
        let refusing = errors.iter().find(|error| {
            let depth = error["path"].as_array().map_or(0, Vec::len);
            depth <= 1 || !masking || error["extensions"]["code"] != "FORBIDDEN"
        });
        if let Some(error) = refusing {
            return Err(refusal(error));
        }
        Ok(answer["data"].clone())
    }
}

fn refusal(error: &Value) -> Outcome {
    let code = error["extensions"]["code"].as_str().unwrap_or("INTERNAL");
    let message = error["message"].as_str().unwrap_or("the request failed");
    Outcome::of_code(code, message)
}
