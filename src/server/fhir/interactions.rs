//! The read and search interactions of each resource type, each one GraphQL operation (two
//! for a Practitioner read, which pages the providers). A partner's API key reaches a Patient
//! or a Practitioner only through the appointments it may read, as `Appointment.patient` and
//! `Appointment.provider` do in GraphQL: reading one by id finds it through one of its
//! appointments, and searching them is refused (minimum necessary: a reminder service has no
//! business browsing the clinic's patients).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::server::fhir::outcome::Outcome;
use crate::server::fhir::reader::Reader;
use crate::server::fhir::resources::{
    self, APPOINTMENT_FIELDS, APPOINTMENT_TYPE_SYSTEM, INVOICE_FIELDS, PARTNER_PATIENT_FIELDS,
    PATIENT_FIELDS, PRACTITIONER_FIELDS,
};
use crate::server::fhir::search::SearchParams;

/// The resource types served, in the CapabilityStatement's order.
pub const RESOURCE_TYPES: [&str; 6] = [
    "Patient",
    "Practitioner",
    "Schedule",
    "Slot",
    "Appointment",
    "Invoice",
];
/// The most appointments one page holds: a page of their fields (with the included patients')
/// must stay within the GraphQL complexity limit, and FHIR lets a server answer fewer than
/// `_count` asks for.
pub const APPOINTMENTS_PER_PAGE: u64 = 50;
/// The longest range of days one Slot search covers (one `availableSlots` a day).
pub const MAX_SLOT_SEARCH_DAYS: i64 = 31;

/// One page of a search: its matches, what `_include` added, and where the next page starts.
pub struct Page {
    pub matches: Vec<Value>,
    pub included: Vec<Value>,
    pub next_cursor: Option<String>,
    /// The parameters the search used, for its `self` and `next` links (`next_cursor` sealed,
    /// as `_cursor` carries it).
    pub used: Vec<(String, String)>,
}

fn unknown_type(resource_type: &str) -> Outcome {
    Outcome::not_found(format!(
        "this server has no {resource_type} resources: see /fhir/R4/metadata for what it serves"
    ))
}

fn not_in_clinic(resource_type: &str) -> Outcome {
    Outcome::not_found(format!("{resource_type} not found"))
}

fn partners_reach_through_appointments(resource_type: &str) -> Outcome {
    Outcome::forbidden(format!(
        "an API key reaches a {resource_type} only through the appointments it may read: search \
         Appointment with _include=Appointment:{}",
        if resource_type == "Patient" {
            "patient"
        } else {
            "practitioner"
        }
    ))
}

/// `GET [base]/<type>/<id>`. An id that is not one of the clinic's, whether unknown, deleted,
/// malformed or another clinic's, is NOT_FOUND alike.
pub async fn read(reader: &Reader<'_>, resource_type: &str, id: &str) -> Result<Value, Outcome> {
    if !RESOURCE_TYPES.contains(&resource_type) {
        return Err(unknown_type(resource_type));
    }
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(not_in_clinic(resource_type));
    };
    let variables = json!({ "id": id });
    match resource_type {
        "Patient" if reader.is_partner() => {
            let query = format!(
                "query($id: UUID!) {{ appointments(patientId: $id, first: 1) {{ nodes {{ patient {{ {PARTNER_PATIENT_FIELDS} }} }} }} }}"
            );
            let data = reader.read_unmasked(&query, variables).await?;
            first_node(&data["appointments"], "patient")
                .map(resources::patient)
                .ok_or_else(|| not_in_clinic(resource_type))
        }
        "Patient" => {
            let query = format!("query($id: UUID!) {{ patient(id: $id) {{ {PATIENT_FIELDS} }} }}");
            let data = reader.read(&query, variables).await?;
            Ok(resources::patient(&data["patient"]))
        }
        "Practitioner" if reader.is_partner() => {
            let query = format!(
                "query($id: UUID!) {{ appointments(providerId: $id, first: 1) {{ nodes {{ provider {{ {PRACTITIONER_FIELDS} }} }} }} }}"
            );
            let data = reader.read(&query, variables).await?;
            first_node(&data["appointments"], "provider")
                .map(resources::practitioner)
                .ok_or_else(|| not_in_clinic(resource_type))
        }
        "Practitioner" => find_provider(reader, id)
            .await?
            .map(|provider| resources::practitioner(&provider))
            .ok_or_else(|| not_in_clinic(resource_type)),
        "Schedule" => {
            let types = appointment_types(reader).await?;
            find_provider(reader, id)
                .await?
                .map(|provider| resources::schedule(&provider, &types))
                .ok_or_else(|| not_in_clinic(resource_type))
        }
        "Appointment" => {
            let query = format!(
                "query($id: UUID!) {{ appointment(id: $id) {{ {APPOINTMENT_FIELDS} patient {{ id }} }} }}"
            );
            let data = reader.read(&query, variables).await?;
            Ok(resources::appointment(&data["appointment"]))
        }
        "Invoice" => {
            let query = format!("query($id: UUID!) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }}");
            let data = reader.read(&query, variables).await?;
            Ok(resources::invoice(&data["invoice"]))
        }
        _ => Err(Outcome::bad_input(
            "Slot resources are computed, not stored: search them (Slot?schedule=…&service-type=…&start=…)",
        )),
    }
}

fn first_node<'a>(connection: &'a Value, field: &str) -> Option<&'a Value> {
    connection["nodes"]
        .get(0)
        .map(|node| &node[field])
        .filter(|object| object["id"].is_string())
}

/// The clinic's provider with this id, paging the providers list (a clinic has a handful).
async fn find_provider(reader: &Reader<'_>, id: Uuid) -> Result<Option<Value>, Outcome> {
    let mut after: Option<String> = None;
    loop {
        let page = providers(reader, 100, after.as_deref()).await?;
        let wanted = id.to_string();
        if let Some(provider) = page.0.into_iter().find(|provider| provider["id"] == wanted) {
            return Ok(Some(provider));
        }
        match page.1 {
            Some(cursor) => after = Some(cursor),
            None => return Ok(None),
        }
    }
}

async fn providers(
    reader: &Reader<'_>,
    first: u64,
    after: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), Outcome> {
    let query = format!(
        "query($first: Int, $after: String) {{ providers(first: $first, after: $after) {{ nodes {{ {PRACTITIONER_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let data = reader
        .read(&query, json!({ "first": first, "after": after }))
        .await?;
    Ok(nodes_and_cursor(&data["providers"]))
}

fn nodes_and_cursor(connection: &Value) -> (Vec<Value>, Option<String>) {
    let nodes = connection["nodes"].as_array().cloned().unwrap_or_default();
    (nodes, next_cursor(connection))
}

/// The cursor of the page after a GraphQL connection's page, if one follows.
pub fn next_cursor(connection: &Value) -> Option<String> {
    (connection["pageInfo"]["hasNextPage"] == true)
        .then(|| {
            connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned)
        })
        .flatten()
}

async fn appointment_types(reader: &Reader<'_>) -> Result<Vec<Value>, Outcome> {
    let data = reader
        .read(
            "{ appointmentTypes { id name durationMinutes } }",
            json!({}),
        )
        .await?;
    Ok(data["appointmentTypes"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// `GET [base]/<type>?…`.
pub async fn search(
    reader: &Reader<'_>,
    resource_type: &str,
    params: &SearchParams,
) -> Result<Page, Outcome> {
    let page = match resource_type {
        "Patient" => search_patients(reader, params).await?,
        "Practitioner" => search_practitioners(reader, params).await?,
        "Schedule" => search_schedules(reader, params).await?,
        "Slot" => search_slots(reader, params).await?,
        "Appointment" => search_appointments(reader, params).await?,
        "Invoice" => search_invoices(reader, params).await?,
        _ => return Err(unknown_type(resource_type)),
    };
    let used = params.finish()?;
    Ok(Page {
        used,
        next_cursor: page.next_cursor.map(|cursor| params.sealed(&cursor)),
        ..page
    })
}

fn matches_only(matches: Vec<Value>, next_cursor: Option<String>) -> Page {
    Page {
        matches,
        included: Vec::new(),
        next_cursor,
        used: Vec::new(),
    }
}

async fn search_patients(reader: &Reader<'_>, params: &SearchParams) -> Result<Page, Outcome> {
    if reader.is_partner() {
        return Err(partners_reach_through_appointments("Patient"));
    }
    let names: Vec<String> = ["name", "family", "given"]
        .iter()
        .filter_map(|name| params.one(name).transpose())
        .collect::<Result<_, _>>()?;
    if names.len() > 1 {
        return Err(Outcome::bad_input(
            "name, family, given: give one of them (each matches the start of the first or last name)",
        ));
    }
    let query = format!(
        "query($search: String, $dob: NaiveDate, $first: Int, $after: String) {{ patients(search: $search, dateOfBirth: $dob, first: $first, after: $after) {{ nodes {{ {PATIENT_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let variables = json!({
        "search": names.first(),
        "dob": params.date("birthdate")?,
        "first": params.count()?,
        "after": params.cursor()?,
    });
    let data = reader.read(&query, variables).await?;
    let (nodes, next) = nodes_and_cursor(&data["patients"]);
    Ok(matches_only(
        nodes.iter().map(resources::patient).collect(),
        next,
    ))
}

async fn search_practitioners(reader: &Reader<'_>, params: &SearchParams) -> Result<Page, Outcome> {
    if reader.is_partner() {
        return Err(partners_reach_through_appointments("Practitioner"));
    }
    let (nodes, next) = providers(reader, params.count()?, params.cursor()?.as_deref()).await?;
    Ok(matches_only(
        nodes.iter().map(resources::practitioner).collect(),
        next,
    ))
}

async fn search_schedules(reader: &Reader<'_>, params: &SearchParams) -> Result<Page, Outcome> {
    let actor = params.reference("actor", "Practitioner")?;
    let types = appointment_types(reader).await?;
    let (providers, next) = match actor {
        Some(id) => (find_provider(reader, id).await?.into_iter().collect(), None),
        None => providers(reader, params.count()?, params.cursor()?.as_deref()).await?,
    };
    Ok(matches_only(
        providers
            .iter()
            .map(|provider| resources::schedule(provider, &types))
            .collect(),
        next,
    ))
}

/// Free slots: `schedule` (one provider's), `service-type` (an appointment type: its code, or
/// `urn:hpms:appointment-type|<id>`) and `start` (a range of at most 31 days) are required, as
/// `availableSlots` needs all three. Each day of the range is one aliased `availableSlots` in a
/// single operation; the clinic's days are its own time zone's, so the UTC range is widened by
/// a day each side and the starts outside it dropped.
async fn search_slots(reader: &Reader<'_>, params: &SearchParams) -> Result<Page, Outcome> {
    let schedule = params.reference("schedule", "Schedule")?.ok_or_else(|| {
        Outcome::bad_input("schedule: required, as Schedule/<id> (a provider's schedule)")
    })?;
    let service_type = params.one("service-type")?.ok_or_else(|| {
        Outcome::bad_input(
            "service-type: required, an appointment type (its id; see Schedule.serviceType)",
        )
    })?;
    let code = service_type
        .strip_prefix(&format!("{APPOINTMENT_TYPE_SYSTEM}|"))
        .unwrap_or(&service_type);
    let type_id = Uuid::parse_str(code)
        .map_err(|_| Outcome::bad_input("service-type: must be an appointment type's id"))?;
    let range = params.date_range("start")?;
    let (Some(from), Some(to)) = (range.from, range.to) else {
        return Err(Outcome::bad_input(
            "start: required with both ends, e.g. start=ge2026-12-10&start=lt2026-12-17",
        ));
    };
    if to <= from || to - from > Duration::days(MAX_SLOT_SEARCH_DAYS) {
        return Err(Outcome::bad_input(format!(
            "start: the range must be non-empty and at most {MAX_SLOT_SEARCH_DAYS} days"
        )));
    }
    let first_day = from.date_naive() - Duration::days(1);
    let days: Vec<NaiveDate> = first_day
        .iter_days()
        .take_while(|day| *day <= to.date_naive() + Duration::days(1))
        .collect();
    let fields: String = days
        .iter()
        .enumerate()
        .map(|(index, day)| {
            format!(
                "d{index}: availableSlots(providerId: $provider, date: \"{day}\", typeId: $type) "
            )
        })
        .collect();
    let query = format!(
        "query($provider: UUID!, $type: UUID!) {{ appointmentTypes {{ id name durationMinutes }} {fields} }}"
    );
    let data = reader
        .read(&query, json!({ "provider": schedule, "type": type_id }))
        .await?;
    let wanted = type_id.to_string();
    let appointment_type = data["appointmentTypes"]
        .as_array()
        .and_then(|types| types.iter().find(|candidate| candidate["id"] == wanted))
        .cloned()
        .ok_or_else(|| Outcome::not_found("appointment type not found"))?;
    let mut starts: Vec<DateTime<Utc>> = (0..days.len())
        .flat_map(|index| {
            data[format!("d{index}")]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|start| {
            DateTime::parse_from_rfc3339(start.as_str()?)
                .ok()
                .map(|start| start.with_timezone(&Utc))
        })
        .filter(|start| (from..to).contains(start))
        .collect();
    starts.sort();
    starts.dedup();
    Ok(matches_only(
        starts
            .into_iter()
            .map(|start| resources::slot(schedule, &appointment_type, start))
            .collect(),
        None,
    ))
}

async fn search_appointments(reader: &Reader<'_>, params: &SearchParams) -> Result<Page, Outcome> {
    let range = params.date_range("date")?;
    let practitioner = match params.reference("practitioner", "Practitioner")? {
        Some(id) => Some(id),
        None => params.reference("actor", "Practitioner")?,
    };
    let status = params
        .one("status")?
        .map(|status| {
            resources::hpms_appointment_status(&status).ok_or_else(|| {
                Outcome::bad_input(
                    "status: one of booked, arrived, checked-in, fulfilled, noshow, cancelled",
                )
            })
        })
        .transpose()?;
    let includes = params.supported(
        "_include",
        &["Appointment:patient", "Appointment:practitioner"],
    );
    let include_patients = includes
        .iter()
        .any(|include| include == "Appointment:patient");
    let include_practitioners = includes
        .iter()
        .any(|include| include == "Appointment:practitioner");
    let patient_fields = if !include_patients {
        "id"
    } else if reader.is_partner() {
        PARTNER_PATIENT_FIELDS
    } else {
        PATIENT_FIELDS
    };
    let provider_fields = if include_practitioners {
        PRACTITIONER_FIELDS
    } else {
        "id"
    };
    let query = format!(
        "query($from: DateTime, $to: DateTime, $provider: UUID, $patient: UUID, $status: AppointmentStatus, $first: Int, $after: String) {{ \
         appointments(from: $from, to: $to, providerId: $provider, patientId: $patient, status: $status, first: $first, after: $after) {{ \
         nodes {{ {APPOINTMENT_FIELDS} provider {{ {provider_fields} }} patient {{ {patient_fields} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let variables = json!({
        "from": range.from,
        "to": range.to,
        "provider": practitioner,
        "patient": params.reference("patient", "Patient")?,
        "status": status,
        "first": params.count()?.min(APPOINTMENTS_PER_PAGE),
        "after": params.cursor()?,
    });
    let data = reader.read(&query, variables).await?;
    let (nodes, next_cursor) = nodes_and_cursor(&data["appointments"]);
    let mut included: Vec<Value> = Vec::new();
    let mut include = |resource: Value| {
        if resource["id"].is_string()
            && !included.iter().any(|seen| {
                seen["id"] == resource["id"] && seen["resourceType"] == resource["resourceType"]
            })
        {
            included.push(resource);
        }
    };
    for node in &nodes {
        if include_patients && node["patient"]["id"].is_string() {
            include(resources::patient(&node["patient"]));
        }
        if include_practitioners && node["provider"]["id"].is_string() {
            include(resources::practitioner(&node["provider"]));
        }
    }
    Ok(Page {
        matches: nodes.iter().map(resources::appointment).collect(),
        included,
        next_cursor,
        used: Vec::new(),
    })
}

async fn search_invoices(reader: &Reader<'_>, params: &SearchParams) -> Result<Page, Outcome> {
    let range = params.date_range("date")?;
    let patient = match params.reference("patient", "Patient")? {
        Some(id) => Some(id),
        None => params.reference("subject", "Patient")?,
    };
    let status = params
        .one("status")?
        .map(|status| {
            resources::hpms_invoice_status(&status)
                .ok_or_else(|| Outcome::bad_input("status: one of issued, balanced, cancelled"))
        })
        .transpose()?;
    let query = format!(
        "query($status: InvoiceStatus, $patient: UUID, $from: DateTime, $to: DateTime, $first: Int, $after: String) {{ \
         invoices(status: $status, patientId: $patient, from: $from, to: $to, first: $first, after: $after) {{ \
         nodes {{ {INVOICE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let variables = json!({
        "status": status,
        "patient": patient,
        "from": range.from,
        "to": range.to,
        "first": params.count()?,
        "after": params.cursor()?,
    });
    let data = reader.read(&query, variables).await?;
    let (nodes, next) = nodes_and_cursor(&data["invoices"]);
    Ok(matches_only(
        nodes.iter().map(resources::invoice).collect(),
        next,
    ))
}
