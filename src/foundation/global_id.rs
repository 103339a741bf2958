//! Relay's global object identification: every type a client may refetch by id alone has a
//! `nodeId`, an opaque string naming both the type and the row, which `node(id:)` takes back.
//!
//! The id is the URL-safe base64 (no padding) of `Type:uuid`. Clients must treat it as opaque;
//! the encoding is written down so that it never changes under a client that stored one. The
//! type's name is in it because rows of different tables may one day share a UUID, and because
//! `node` must know which domain to ask without trying each.

use async_graphql::{ID, OutputType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::foundation::error::ApiError;

/// The longest global id `node` decodes: the longest type name, a colon and a UUID, encoded,
/// with room to spare. Anything longer is refused before it is decoded.
const MAX_ENCODED_LENGTH: usize = 96;

/// The global id of the row `id` shown as GraphQL type `type_name`.
pub fn global_id(type_name: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// The global id of row `id` shown as GraphQL type `T`: what each node type's `nodeId` answers.
pub fn node_id<T: OutputType>(id: Uuid) -> ID {
    global_id(&T::type_name(), id)
}

/// A global id taken apart: the GraphQL type it names and the row's UUID.
#[derive(Debug, PartialEq, Eq)]
pub struct GlobalId {
    pub type_name: String,
    pub id: Uuid,
}

impl GlobalId {
    /// Whether the id names a row of GraphQL type `T`.
    pub fn is<T: OutputType>(&self) -> bool {
        self.type_name == T::type_name()
    }
}

/// Reads a global id a client sent back. Anything HPMS could not have issued is BAD_USER_INPUT
/// on `argument`; a well-formed id of a row that does not exist (or that RLS hides) is the
/// caller's `null`.
pub fn parse_global_id(argument: &str, global_id: &str) -> Result<GlobalId, ApiError> {
    let malformed = || ApiError::bad_input(argument, "not a node id issued by this server");
    if global_id.len() > MAX_ENCODED_LENGTH {
        return Err(malformed());
    }
    let decoded = URL_SAFE_NO_PAD.decode(global_id).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (type_name, id) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = Uuid::parse_str(id).map_err(|_| malformed())?;
    if type_name.is_empty() || !type_name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(malformed());
    }
    Ok(GlobalId {
        type_name: type_name.to_owned(),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_id_names_its_type_and_row_and_reads_back() {
        let id = Uuid::new_v4();
        let encoded = global_id("Patient", id);
        assert!(!encoded.contains(&id.to_string()), "the id is opaque");
        assert_eq!(
            parse_global_id("id", &encoded).unwrap(),
            GlobalId {
                type_name: "Patient".into(),
                id
            }
        );
    }

    #[test]
    fn ids_the_server_could_not_have_issued_are_bad_input() {
        let uuid = Uuid::new_v4().to_string();
        let no_type = URL_SAFE_NO_PAD.encode(format!(":{uuid}"));
        let odd_type = URL_SAFE_NO_PAD.encode(format!("Pa tient:{uuid}"));
        let no_uuid = URL_SAFE_NO_PAD.encode("Patient:42");
        let too_long = "A".repeat(MAX_ENCODED_LENGTH + 1);
        for id in [
            "",
            "not base64!",
            &uuid,
            &no_type,
            &odd_type,
            &no_uuid,
            &too_long,
        ] {
            let error = parse_global_id("id", id).unwrap_err();
            assert_eq!(error.field(), Some("id"), "{id}");
        }
    }
}
