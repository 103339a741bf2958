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

    /// Runs `query` and returns its data. A FORBIDDEN that nulled one field below the root is a
    /// field the caller may not see, left out of the resource as GraphQL leaves it null; any
    /// other error refuses the whole interaction (a resource is never answered with a part
    /// silently missing for another reason, nor without its record).
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
            !(masking
                && error["extensions"]["code"] == "FORBIDDEN"
                && masks_one_field(&answer["data"], &error["path"]))
        });
        if let Some(error) = refusing {
            return Err(refusal(error));
        }
        Ok(answer["data"].clone())
    }
}

/// Whether an error at `path` nulled that one field, below the root: its parent object came
/// back. A non-null field's error nulls its parent instead (GraphQL's null propagation), which
/// would leave a resource without its record: that refuses.
fn masks_one_field(data: &Value, path: &Value) -> bool {
    let Some((_, parent_path)) = path.as_array().and_then(|path| path.split_last()) else {
        return false;
    };
    if parent_path.is_empty() {
        return false;
    }
    let parent = parent_path.iter().try_fold(data, |value, step| match step {
        Value::String(field) => value.get(field),
        Value::Number(index) => value.get(index.as_u64()? as usize),
        _ => None,
    });
    parent.is_some_and(Value::is_object)
}

fn refusal(error: &Value) -> Outcome {
    let code = error["extensions"]["code"].as_str().unwrap_or("INTERNAL");
    let message = error["message"].as_str().unwrap_or("the request failed");
    Outcome::of_code(code, message)
}
