//! What a webhook carries: the Standard Webhooks envelope (`type`, `timestamp`, `data`) around
//! an appointment event, version 1. Its own type, apart from the GraphQL one, so that changing
//! the API never changes what partners' receivers parse; enum values are spelled as in the
//! GraphQL schema (SCHEDULED, IN_SESSION, PATIENT_REQUEST, …). Ids, times and statuses only:
//! never a name or contact detail.

use serde::Serialize;

use crate::scheduling::AppointmentEvent;

#[derive(Serialize)]
pub struct WebhookPayloadV1 {
    /// `appointment.booked`, `appointment.rescheduled`, `appointment.status_changed`,
    /// `appointment.cancelled` or `appointment.slot_freed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change was made (RFC 3339, UTC).
    pub timestamp: String,
    pub data: EventDataV1,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDataV1 {
    /// The clinic's event number, as `appointmentEvents` and the subscription number it.
    pub event_id: String,
    pub kind: String,
    pub appointment_id: String,
    pub provider_id: String,
    /// Null for SLOT_FREED, which names no patient.
    pub patient_id: Option<String>,
    pub type_id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub previous_starts_at: Option<String>,
    pub previous_ends_at: Option<String>,
    pub old_status: Option<String>,
    pub new_status: String,
    pub cancel_reason_category: Option<String>,
    pub cancel_reason: Option<String>,
    pub actor_kind: String,
    pub occurred_at: String,
}

/// `InSession` → `IN_SESSION`, as async-graphql spells enum values.
fn screaming(stored: &str) -> String {
    let mut out = String::with_capacity(stored.len() + 4);
    for (index, character) in stored.chars().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(character.to_ascii_uppercase());
    }
    out
}

fn time(value: &sea_orm::prelude::DateTimeWithTimeZone) -> String {
    chrono::DateTime::<chrono::Utc>::from(*value)
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl WebhookPayloadV1 {
    pub fn of(event: &AppointmentEvent) -> WebhookPayloadV1 {
        let kind = screaming(&event.kind);
        WebhookPayloadV1 {
            kind: format!("appointment.{}", kind.to_ascii_lowercase()),
            timestamp: time(&event.occurred_at),
            data: EventDataV1 {
                event_id: event.id.to_string(),
                kind,
                appointment_id: event.appointment_id.to_string(),
                provider_id: event.provider_id.to_string(),
                patient_id: event.patient_id.map(|id| id.to_string()),
                type_id: event.type_id.to_string(),
                starts_at: time(&event.starts_at),
                ends_at: time(&event.ends_at),
                previous_starts_at: event.previous_starts_at.as_ref().map(time),
                previous_ends_at: event.previous_ends_at.as_ref().map(time),
                old_status: event.old_status.as_deref().map(screaming),
                new_status: screaming(&event.new_status),
                cancel_reason_category: event.cancel_reason_category.as_deref().map(screaming),
                cancel_reason: event.cancel_reason.clone(),
                actor_kind: screaming(&event.actor_kind),
                occurred_at: time(&event.occurred_at),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_names_are_spelled_as_graphql_enum_values() {
        assert_eq!(super::screaming("InSession"), "IN_SESSION");
        assert_eq!(super::screaming("StatusChanged"), "STATUS_CHANGED");
        assert_eq!(super::screaming("ApiKey"), "API_KEY");
        assert_eq!(super::screaming("Booked"), "BOOKED");
    }

    #[test]
    fn a_freed_slot_is_posted_as_slot_freed_with_no_patient() {
        let at: sea_orm::prelude::DateTimeWithTimeZone =
            "2031-01-06T10:00:00Z".parse().expect("an instant");
        let event = crate::scheduling::AppointmentEvent {
            tenant_id: uuid::Uuid::nil(),
            id: 7,
            appointment_id: uuid::Uuid::nil(),
            provider_id: uuid::Uuid::nil(),
            old_status: None,
            new_status: "Cancelled".into(),
            occurred_at: at,
            kind: "SlotFreed".into(),
            patient_id: None,
            type_id: uuid::Uuid::nil(),
            starts_at: at,
            ends_at: at + chrono::Duration::minutes(30),
            previous_starts_at: None,
            previous_ends_at: None,
            cancel_reason_category: None,
            cancel_reason: None,
            actor_kind: "User".into(),
        };
        let posted = serde_json::to_value(super::WebhookPayloadV1::of(&event)).unwrap();
        assert_eq!(posted["type"], "appointment.slot_freed");
        assert_eq!(posted["data"]["kind"], "SLOT_FREED");
        assert_eq!(posted["data"]["patientId"], serde_json::Value::Null);
        assert_eq!(posted["data"]["endsAt"], "2031-01-06T10:30:00.000000Z");
    }
}
