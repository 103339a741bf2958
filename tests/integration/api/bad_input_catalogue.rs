//! The bad-input catalogue: every mutation and the main queries, each with every kind of bad
//! value in every argument that can hold one (ids that are not UUIDs or name nothing, impossible
//! dates and times, money with three decimals or below zero, unknown enum values, over-long and
//! control-character strings, injection strings where a format is required, a visit ending
//! before it starts), plus requests that are not GraphQL at all and requests built to exhaust the
//! server. Each case goes over every transport its operation may take (POST, GET, a persisted
//! query by hash, the WebSocket) and must get the code it names, never INTERNAL and never a 5xx,
//! and once they have all run, both clinics' rows and audit trails are exactly as they were.

use hpms::foundation::role::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, Transport};

/// A valid operation to spoil, with where its values sit in the variables.
struct Template {
    name: &'static str,
    role: Role,
    query: &'static str,
    variables: Value,
    /// JSON pointers into `variables`, by the kind of value there.
    ids: &'static [&'static str],
    texts: &'static [&'static str],
    /// Texts with a format (slugs, usernames, emails, phone numbers), where an injection string
    /// must be refused as well.
    formatted: &'static [&'static str],
    dates: &'static [&'static str],
    times: &'static [&'static str],
    money: &'static [&'static str],
    enums: &'static [&'static str],
}

const NO: &[&str] = &[];

/// A template with no argument to spoil yet; each one names its kinds of values.
fn template(name: &'static str, role: Role, query: &'static str, variables: Value) -> Template {
    Template {
        name,
        role,
        query,
        variables,
        ids: NO,
        texts: NO,
        formatted: NO,
        dates: NO,
        times: NO,
        money: NO,
        enums: NO,
    }
}

struct Case {
    what: String,
    role: Role,
    query: String,
    variables: Value,
    code: &'static str,
}

const INJECTIONS: [&str; 6] = [
    "'; drop table patients; --",
    "\" or 1=1 --",
    "x' union select password_hash from users --",
    "{\"$gt\": \"\"}",
    "\"}, \"role\": \"SystemAdmin",
    "<script>alert(1)</script>",
];

fn templates(clinic: &ApiClinic, appointment: &str, invoice: &str) -> Vec<Template> {
    let provider = clinic.user(Role::Provider);
    let patient = clinic.patient_id;
    let type_id = clinic.type_id;
    vec![
        Template {
            texts: &["/i/name", "/i/slug", "/i/adminUsername", "/i/adminPassword"],
            formatted: &["/i/slug", "/i/adminUsername"],
            ..template(
                "createTenant",
                Role::SystemAdmin,
                "mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } } }",
                json!({"i": {"name": "New Clinic", "slug": "new-clinic",
                "adminUsername": "boss", "adminPassword": "a long enough password"}}),
            )
        },
        Template {
            texts: &["/i/username", "/i/password"],
            formatted: &["/i/username"],
            enums: &["/i/role"],
            ..template(
                "createUser",
                Role::ClinicAdmin,
                "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
                json!({"i": {"username": "newcomer", "password": "a long enough password",
                "role": "FRONT_DESK"}}),
            )
        },
        Template {
            ids: &["/i/id"],
            texts: &["/i/password"],
            enums: &["/i/role"],
            ..template(
                "updateUser",
                Role::ClinicAdmin,
                "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
                json!({"i": {"id": clinic.user(Role::FrontDesk), "role": "BILLING_MANAGER",
                "password": "another long password"}}),
            )
        },
        Template {
            texts: &["/n"],
            ..template(
                "changePassword",
                Role::FrontDesk,
                "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token } }",
                json!({"c": crate::helpers::TEST_PASSWORD, "n": "violet harbour lantern 7"}),
            )
        },
        Template {
            ids: &["/t"],
            texts: &["/u", "/p"],
            formatted: &["/u"],
            ..template(
                "resetClinicAdmin",
                Role::SystemAdmin,
                "mutation($t: UUID!, $u: String!, $p: String!) { resetClinicAdmin(tenantId: $t, username: $u, password: $p) { userId } }",
                json!({"t": clinic.tenant_id, "u": "admin", "p": "temporary harbour key 42"}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "deactivateUser",
                Role::ClinicAdmin,
                "mutation($id: UUID!) { deactivateUser(id: $id) { id } }",
                json!({"id": clinic.user(Role::BillingManager)}),
            )
        },
        Template {
            texts: &[
                "/i/firstName",
                "/i/lastName",
                "/i/contact/phone",
                "/i/contact/email",
                "/i/contact/address",
                "/i/medical/allergies",
                "/i/medical/medications",
                "/i/medical/notes",
            ],
            formatted: &["/i/contact/phone", "/i/contact/email"],
            dates: &["/i/dateOfBirth"],
            ..template(
                "createPatient",
                Role::ClinicAdmin,
                "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
                json!({"i": {"firstName": "Grace", "lastName": "Hopper",
                "dateOfBirth": "1990-12-09",
                "contact": {"phone": "+1 555 0100", "email": "grace@example.org", "address": "1 Navy Way"},
                "medical": {"allergies": "none", "medications": "none", "notes": "fine"}}}),
            )
        },
        Template {
            ids: &["/i/id"],
            texts: &["/i/firstName", "/i/contact/email", "/i/medical/notes"],
            formatted: &["/i/contact/email"],
            dates: &["/i/dateOfBirth"],
            ..template(
                "updatePatient",
                Role::ClinicAdmin,
                "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { id } }",
                json!({"i": {"id": patient, "firstName": "Ada", "dateOfBirth": "1985-12-10",
                "contact": {"email": "ada@example.org"}, "medical": {"notes": "seen"}}}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "deletePatient",
                Role::ClinicAdmin,
                "mutation($id: UUID!) { deletePatient(id: $id) }",
                json!({"id": patient}),
            )
        },
        Template {
            texts: &["/i/name", "/i/roomKind"],
            money: &["/i/price"],
            ..template(
                "createAppointmentType",
                Role::ClinicAdmin,
                "mutation($i: CreateAppointmentTypeInput!) { createAppointmentType(input: $i) { id } }",
                json!({"i": {"name": "Check-up", "durationMinutes": 20, "price": "45.00", "roomKind": "Exam"}}),
            )
        },
        Template {
            ids: &["/i/id"],
            texts: &["/i/name", "/i/roomKind"],
            money: &["/i/price"],
            ..template(
                "updateAppointmentType",
                Role::ClinicAdmin,
                "mutation($i: UpdateAppointmentTypeInput!) { updateAppointmentType(input: $i) { id } }",
                json!({"i": {"id": type_id, "name": "Long consultation", "price": "90.00", "roomKind": "Exam"}}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "deleteAppointmentType",
                Role::ClinicAdmin,
                "mutation($id: UUID!) { deleteAppointmentType(id: $id) }",
                json!({"id": type_id}),
            )
        },
        Template {
            ids: &["/p"],
            times: &["/h/0/start", "/h/0/end"],
            enums: &["/h/0/day"],
            ..template(
                "setProviderWorkingHours",
                Role::ClinicAdmin,
                "mutation($p: UUID!, $h: [WorkingHoursInput!]!) { setProviderWorkingHours(providerId: $p, hours: $h) { id } }",
                json!({"p": provider, "h": [{"day": "MONDAY", "start": "09:00:00", "end": "17:00:00"}]}),
            )
        },
        Template {
            ids: &["/i/patientId", "/i/providerId", "/i/typeId"],
            dates: &["/i/start"],
            ..template(
                "bookAppointment",
                Role::FrontDesk,
                "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
                json!({"i": {"patientId": patient, "providerId": provider, "typeId": type_id,
                "start": "2031-03-03T10:00:00Z"}}),
            )
        },
        Template {
            ids: &["/i/id"],
            dates: &["/i/start"],
            ..template(
                "rescheduleAppointment",
                Role::FrontDesk,
                "mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) { id } }",
                json!({"i": {"id": appointment, "expectedVersion": 1,
                "start": "2031-03-03T11:00:00Z"}}),
            )
        },
        Template {
            ids: &["/id"],
            texts: &["/r"],
            enums: &["/c"],
            ..template(
                "cancelAppointment",
                Role::FrontDesk,
                "mutation($id: UUID!, $v: Int!, $r: String!, $c: CancellationCategory!) { cancelAppointment(id: $id, expectedVersion: $v, reason: $r, category: $c) { id } }",
                json!({"id": appointment, "v": 1, "r": "the patient is unwell", "c": "PATIENT_REQUEST"}),
            )
        },
        Template {
            ids: &["/id"],
            enums: &["/s"],
            ..template(
                "setAppointmentStatus",
                Role::Provider,
                "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { id } }",
                json!({"id": appointment, "v": 1, "s": "ARRIVED"}),
            )
        },
        Template {
            ids: &["/i/invoiceId"],
            texts: &["/i/idempotencyKey"],
            money: &["/i/amount"],
            enums: &["/i/method"],
            ..template(
                "recordPayment",
                Role::BillingManager,
                "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { invoice { id } } }",
                json!({"i": {"invoiceId": invoice, "amount": "10.00", "method": "CARD",
                "idempotencyKey": "catalogue-payment"}}),
            )
        },
        Template {
            ids: &["/i/invoiceId"],
            texts: &["/i/reason", "/i/idempotencyKey"],
            money: &["/i/amount"],
            ..template(
                "refundPayment",
                Role::BillingManager,
                "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) { invoice { id } } }",
                json!({"i": {"invoiceId": invoice, "amount": "1.00", "reason": "overpaid",
                "idempotencyKey": "catalogue-refund"}}),
            )
        },
        Template {
            ids: &["/i/invoiceId"],
            texts: &["/i/reason", "/i/idempotencyKey"],
            money: &["/i/amount"],
            ..template(
                "writeOffInvoice",
                Role::BillingManager,
                "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { invoice { id } } }",
                json!({"i": {"invoiceId": invoice, "amount": "1.00", "reason": "goodwill",
                "idempotencyKey": "catalogue-write-off"}}),
            )
        },
        Template {
            ids: &["/id"],
            texts: &["/r"],
            ..template(
                "voidInvoice",
                Role::BillingManager,
                "mutation($id: UUID!, $r: String!) { voidInvoice(invoiceId: $id, reason: $r) { invoice { id } } }",
                json!({"id": invoice, "r": "raised in error"}),
            )
        },
        Template {
            texts: &["/n"],
            enums: &["/s/0"],
            ..template(
                "issueApiKey",
                Role::ClinicAdmin,
                "mutation($n: String!, $s: [ApiKeyScope!]!) { issueApiKey(name: $n, scopes: $s) { key } }",
                json!({"n": "partner", "s": ["APPOINTMENT_EVENTS"]}),
            )
        },
        Template {
            texts: &["/n"],
            enums: &["/s/0", "/s/1"],
            ..template(
                "issueApiKey with read scopes",
                Role::ClinicAdmin,
                "mutation($n: String!, $s: [ApiKeyScope!]!) { issueApiKey(name: $n, scopes: $s) { key } }",
                json!({"n": "reminders", "s": ["APPOINTMENTS", "PATIENT_CONTACT"]}),
            )
        },
        Template {
            // A key naming nothing rightly finds no rows; as an id it must still parse.
            texts: &["/e"],
            dates: &["/f"],
            ..template(
                "auditLogs of a key",
                Role::ClinicAdmin,
                "query($k: UUID, $e: String, $f: DateTime) { auditLogs(apiKeyId: $k, entityName: $e, from: $f) { edges { node { id } } } }",
                json!({"k": Uuid::new_v4(), "e": "patients", "f": "2031-01-01T00:00:00Z"}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "revokeApiKey",
                Role::ClinicAdmin,
                "mutation($id: UUID!) { revokeApiKey(id: $id) { id } }",
                json!({"id": Uuid::new_v4()}),
            )
        },
        Template {
            texts: &["/s"],
            dates: &["/d"],
            ..template(
                "patients",
                Role::FrontDesk,
                "query($s: String, $d: NaiveDate) { patients(search: $s, dateOfBirth: $d) { edges { node { id } } } }",
                json!({"s": "Love", "d": "1985-12-10"}),
            )
        },
        Template {
            // A filter naming no provider rightly finds nothing; as an id it must still parse.
            dates: &["/f"],
            ..template(
                "appointments",
                Role::FrontDesk,
                "query($f: DateTime, $p: UUID, $a: String) { appointments(from: $f, providerId: $p, after: $a) { edges { node { id } } } }",
                // A filter naming no provider rightly finds nothing; as an id it must still parse.,
                json!({"f": "2031-01-01T00:00:00Z", "p": provider, "a": null}),
            )
        },
        Template {
            ids: &["/p"],
            texts: &["/r"],
            ..template(
                "breakGlass",
                Role::Provider,
                "mutation($p: UUID!, $r: String!) { breakGlass(patientId: $p, reason: $r) { id } }",
                json!({"p": patient, "r": "Covering an emergency in the clinic"}),
            )
        },
        Template {
            // An unknown provider is the input's fault (BAD_USER_INPUT, below), not NOT_FOUND.
            ids: &["/p"],
            ..template(
                "assignCareProvider",
                Role::ClinicAdmin,
                "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
                json!({"p": patient, "v": provider}),
            )
        },
    ]
}

/// Issue 17's operations: time off and closures, one-day hours, several cancellations at once,
/// recurring series.
fn clinic_week_templates(clinic: &ApiClinic, appointment: &str) -> Vec<Template> {
    let provider = clinic.user(Role::Provider);
    vec![
        Template {
            ids: &["/i/providerId"],
            texts: &["/i/reason"],
            dates: &["/i/start", "/i/end"],
            ..template(
                "addTimeOff",
                Role::FrontDesk,
                "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
                json!({"i": {"providerId": provider, "start": "2031-05-05T09:00:00Z",
                "end": "2031-05-05T12:00:00Z", "reason": "Dentist"}}),
            )
        },
        Template {
            texts: &["/i/reason"],
            dates: &["/i/firstDay", "/i/lastDay"],
            ..template(
                "addClinicClosure",
                Role::ClinicAdmin,
                "mutation($i: AddClinicClosureInput!) { addClinicClosure(input: $i) { timeOff { id } } }",
                json!({"i": {"firstDay": "2031-12-25", "lastDay": "2031-12-26", "reason": "Christmas"}}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "removeTimeOff",
                Role::FrontDesk,
                "mutation($id: UUID!) { removeTimeOff(id: $id) }",
                json!({"id": Uuid::new_v4()}),
            )
        },
        Template {
            ids: &["/p"],
            dates: &["/d"],
            times: &["/h/0/start", "/h/0/end"],
            ..template(
                "setProviderDayHours",
                Role::ClinicAdmin,
                "mutation($p: UUID!, $d: NaiveDate!, $h: [DayPeriodInput!]) { setProviderDayHours(providerId: $p, date: $d, hours: $h) { start } }",
                json!({"p": provider, "d": "2031-05-10", "h": [{"start": "10:00:00", "end": "12:00:00"}]}),
            )
        },
        Template {
            ids: &["/ids/0"],
            texts: &["/r"],
            enums: &["/c"],
            ..template(
                "cancelAppointments",
                Role::FrontDesk,
                "mutation($ids: [UUID!]!, $r: String!, $c: CancellationCategory!) { cancelAppointments(ids: $ids, reason: $r, category: $c) { id } }",
                json!({"ids": [appointment], "r": "Provider off sick", "c": "PROVIDER_UNAVAILABLE"}),
            )
        },
        Template {
            ids: &["/i/patientId", "/i/providerId", "/i/typeId"],
            dates: &["/i/firstStart"],
            enums: &["/i/rule/days/0"],
            ..template(
                "bookSeries",
                Role::FrontDesk,
                "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId } }",
                json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                "typeId": clinic.type_id, "firstStart": "2031-06-02T09:00:00Z",
                "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": 4}}}),
            )
        },
        Template {
            ids: &["/id"],
            texts: &["/r"],
            ..template(
                "cancelSeriesFrom",
                Role::FrontDesk,
                "mutation($id: UUID!, $r: String!) { cancelSeriesFrom(id: $id, expectedVersion: 1, reason: $r) { id } }",
                json!({"id": appointment, "r": "Moved away"}),
            )
        },
        Template {
            ids: &["/i/id"],
            dates: &["/i/start"],
            ..template(
                "rescheduleSeriesFrom",
                Role::FrontDesk,
                "mutation($i: RescheduleSeriesFromInput!) { rescheduleSeriesFrom(input: $i) { id } }",
                json!({"i": {"id": appointment, "expectedVersion": 1, "start": "2031-03-10T11:00:00Z"}}),
            )
        },
        // `providerId` filters (another clinic's provider shows nothing), so it has no ids to
        // spoil.
        Template {
            dates: &["/f", "/t"],
            ..template(
                "timeOff",
                Role::FrontDesk,
                "query($f: DateTime!, $t: DateTime!, $p: UUID) { timeOff(from: $f, to: $t, providerId: $p) { id } }",
                json!({"f": "2031-05-01T00:00:00Z", "t": "2031-06-01T00:00:00Z", "p": provider}),
            )
        },
    ]
}

/// The rooms' operations with arguments to spoil, and the room of a booking (issue 17, item 4).
fn room_templates(clinic: &ApiClinic, room: &str) -> Vec<Template> {
    let provider = clinic.user(Role::Provider);
    vec![
        Template {
            texts: &["/k"],
            ..template(
                "rooms",
                Role::FrontDesk,
                "query($k: String) { rooms(kind: $k) { id } }",
                json!({"k": "Exam"}),
            )
        },
        Template {
            texts: &["/i/name", "/i/kind"],
            ..template(
                "createRoom",
                Role::ClinicAdmin,
                "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                json!({"i": {"name": "Exam 9", "kind": "Exam"}}),
            )
        },
        Template {
            ids: &["/i/id"],
            texts: &["/i/name", "/i/kind"],
            ..template(
                "updateRoom",
                Role::ClinicAdmin,
                "mutation($i: UpdateRoomInput!) { updateRoom(input: $i) { id } }",
                json!({"i": {"id": room, "name": "Exam 10", "kind": "Exam"}}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "removeRoom",
                Role::ClinicAdmin,
                "mutation($id: UUID!) { removeRoom(id: $id) }",
                json!({"id": room}),
            )
        },
        Template {
            ids: &["/i/roomId"],
            ..template(
                "bookAppointment in a room",
                Role::FrontDesk,
                "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
                json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                "typeId": clinic.type_id, "start": "2031-03-03T11:00:00Z", "roomId": room}}),
            )
        },
        Template {
            ids: &["/i/roomId"],
            ..template(
                "bookSeries in a room",
                Role::FrontDesk,
                "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId } }",
                json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                "typeId": clinic.type_id, "firstStart": "2031-06-02T09:00:00Z",
                "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": 4}, "roomId": room}}),
            )
        },
    ]
}

/// The rooms' cases that are not one argument's fault: blank names and kinds too long, a room of
/// the wrong kind for the type, and another clinic's rooms (NOT_FOUND, as if they did not exist).
fn room_cases(clinic: &ApiClinic, physical: &str, room: &str, others_room: &str) -> Vec<Case> {
    let provider = clinic.user(Role::Provider);
    let book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
    let series = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId } }";
    let create = "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }";
    let update = "mutation($i: UpdateRoomInput!) { updateRoom(input: $i) { id } }";
    let case = |what: &str, role: Role, query: &str, variables: Value, code: &'static str| Case {
        what: what.into(),
        role,
        query: query.into(),
        variables,
        code,
    };
    let kind_too_long = "k".repeat(51);
    vec![
        case(
            "createRoom with a blank name",
            Role::ClinicAdmin,
            create,
            json!({"i": {"name": "   ", "kind": "Exam"}}),
            "BAD_USER_INPUT",
        ),
        case(
            "createRoom with a name of 101 characters",
            Role::ClinicAdmin,
            create,
            json!({"i": {"name": "r".repeat(101)}}),
            "BAD_USER_INPUT",
        ),
        case(
            "createRoom with a kind of 51 characters",
            Role::ClinicAdmin,
            create,
            json!({"i": {"name": "Exam 11", "kind": kind_too_long}}),
            "BAD_USER_INPUT",
        ),
        case(
            "createAppointmentType needing a kind of 51 characters",
            Role::ClinicAdmin,
            "mutation($k: String) { createAppointmentType(input: {name: \"Scan\", durationMinutes: 30, price: \"10.00\", roomKind: $k}) { id } }",
            json!({"k": kind_too_long}),
            "BAD_USER_INPUT",
        ),
        case(
            "updateRoom with a blank name",
            Role::ClinicAdmin,
            update,
            json!({"i": {"id": room, "name": " "}}),
            "BAD_USER_INPUT",
        ),
        case(
            "updateRoom of another clinic's room",
            Role::ClinicAdmin,
            update,
            json!({"i": {"id": others_room, "name": "Mine now"}}),
            "NOT_FOUND",
        ),
        case(
            "removeRoom of another clinic's room",
            Role::ClinicAdmin,
            "mutation($id: UUID!) { removeRoom(id: $id) }",
            json!({"id": others_room}),
            "NOT_FOUND",
        ),
        case(
            "bookAppointment in another clinic's room",
            Role::FrontDesk,
            book,
            json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                         "typeId": clinic.type_id, "start": "2031-03-03T11:00:00Z",
                         "roomId": others_room}}),
            "NOT_FOUND",
        ),
        case(
            "bookAppointment in a room of the wrong kind for the type",
            Role::FrontDesk,
            book,
            json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                         "typeId": physical, "start": "2031-03-03T11:00:00Z", "roomId": room}}),
            "BAD_USER_INPUT",
        ),
        case(
            "bookSeries in another clinic's room",
            Role::FrontDesk,
            series,
            json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                         "typeId": clinic.type_id, "firstStart": "2031-06-02T09:00:00Z",
                         "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": 4},
                         "roomId": others_room}}),
            "NOT_FOUND",
        ),
        case(
            "bookSeries of 10,000 occurrences in a room",
            Role::FrontDesk,
            series,
            json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                         "typeId": clinic.type_id, "firstStart": "2031-06-02T09:00:00Z",
                         "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": 10_000},
                         "roomId": room}}),
            "BAD_USER_INPUT",
        ),
    ]
}

/// The waitlist's operations with arguments to spoil (issue 17, item 5).
fn waitlist_templates(clinic: &ApiClinic) -> Vec<Template> {
    let provider = clinic.user(Role::Provider);
    vec![
        Template {
            ids: &["/i/patientId", "/i/providerId", "/i/typeId"],
            texts: &["/i/notes"],
            dates: &["/i/start", "/i/end"],
            ..template(
                "addToWaitlist",
                Role::FrontDesk,
                "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }",
                json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                "typeId": clinic.type_id, "start": "2031-05-05T08:00:00Z",
                "end": "2031-05-09T18:00:00Z", "notes": "Mornings only"}}),
            )
        },
        Template {
            dates: &["/i/firstDay", "/i/lastDay"],
            ..template(
                "addToWaitlist by days",
                Role::FrontDesk,
                "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }",
                json!({"i": {"patientId": clinic.patient_id, "typeId": clinic.type_id,
                "firstDay": "2031-05-05", "lastDay": "2031-05-09"}}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "removeFromWaitlist",
                Role::FrontDesk,
                "mutation($id: UUID!) { removeFromWaitlist(id: $id) }",
                json!({"id": Uuid::new_v4()}),
            )
        },
        Template {
            ids: &["/p"],
            dates: &["/s", "/e"],
            ..template(
                "waitlistMatches",
                Role::FrontDesk,
                "query($p: UUID!, $s: DateTime!, $e: DateTime!) { waitlistMatches(providerId: $p, start: $s, end: $e) { id } }",
                json!({"p": provider, "s": "2031-05-05T09:00:00Z", "e": "2031-05-05T10:00:00Z"}),
            )
        },
        Template {
            ids: &["/i/waitlistEntryId"],
            ..template(
                "bookAppointment from the waitlist",
                Role::FrontDesk,
                "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
                json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                "typeId": clinic.type_id, "start": "2031-03-03T11:00:00Z",
                "waitlistEntryId": Uuid::new_v4()}}),
            )
        },
    ]
}

/// The waitlist's cases that are not one argument's fault: windows that end before they start
/// or are not one kind, pages out of range, and another clinic's patient, provider, type and
/// entry (NOT_FOUND, as if they did not exist).
fn waitlist_cases(clinic: &ApiClinic, other: &ApiClinic, others_entry: &str) -> Vec<Case> {
    let add = "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }";
    let entry = |extra: Value| {
        let mut input = json!({"patientId": clinic.patient_id, "typeId": clinic.type_id,
                               "start": "2031-05-05T08:00:00Z", "end": "2031-05-09T18:00:00Z"});
        let fields = input.as_object_mut().unwrap();
        for (key, value) in extra.as_object().unwrap() {
            if value.is_null() {
                fields.remove(key);
            } else {
                fields.insert(key.clone(), value.clone());
            }
        }
        json!({ "i": input })
    };
    let matches = "query($p: UUID!, $s: DateTime!, $e: DateTime!) { waitlistMatches(providerId: $p, start: $s, end: $e) { id } }";
    let case = |what: &str, query: &str, variables: Value, code: &'static str| Case {
        what: what.into(),
        role: Role::FrontDesk,
        query: query.into(),
        variables,
        code,
    };
    vec![
        case(
            "addToWaitlist with a window that ends before it starts",
            add,
            entry(json!({"start": "2031-05-09T18:00:00Z", "end": "2031-05-05T08:00:00Z"})),
            "BAD_USER_INPUT",
        ),
        case(
            "addToWaitlist with a window that ends as it starts",
            add,
            entry(json!({"end": "2031-05-05T08:00:00Z"})),
            "BAD_USER_INPUT",
        ),
        case(
            "addToWaitlist with a last day before the first",
            add,
            entry(
                json!({"start": null, "end": null, "firstDay": "2031-05-09", "lastDay": "2031-05-05"}),
            ),
            "BAD_USER_INPUT",
        ),
        case(
            "addToWaitlist with a window of 400 days",
            add,
            entry(json!({"end": "2032-06-08T08:00:00Z"})),
            "BAD_USER_INPUT",
        ),
        case(
            "addToWaitlist with both instants and days",
            add,
            entry(json!({"firstDay": "2031-05-05"})),
            "BAD_USER_INPUT",
        ),
        case(
            "addToWaitlist with no window",
            add,
            entry(json!({"start": null, "end": null})),
            "BAD_USER_INPUT",
        ),
        case(
            "addToWaitlist for another clinic's patient",
            add,
            entry(json!({"patientId": other.patient_id})),
            "NOT_FOUND",
        ),
        case(
            "addToWaitlist with another clinic's provider",
            add,
            entry(json!({"providerId": other.user(Role::Provider)})),
            "NOT_FOUND",
        ),
        case(
            "addToWaitlist with a user who is not a provider",
            add,
            entry(json!({"providerId": clinic.user(Role::FrontDesk)})),
            "NOT_FOUND",
        ),
        case(
            "addToWaitlist with another clinic's appointment type",
            add,
            entry(json!({"typeId": other.type_id})),
            "NOT_FOUND",
        ),
        case(
            "removeFromWaitlist of another clinic's entry",
            "mutation($id: UUID!) { removeFromWaitlist(id: $id) }",
            json!({"id": others_entry}),
            "NOT_FOUND",
        ),
        case(
            "waitlistMatches for a slot that ends before it starts",
            matches,
            json!({"p": clinic.user(Role::Provider), "s": "2031-05-05T10:00:00Z", "e": "2031-05-05T09:00:00Z"}),
            "BAD_USER_INPUT",
        ),
        case(
            "waitlistMatches for another clinic's provider",
            matches,
            json!({"p": other.user(Role::Provider), "s": "2031-05-05T09:00:00Z", "e": "2031-05-05T10:00:00Z"}),
            "NOT_FOUND",
        ),
        case(
            "bookAppointment from another clinic's waitlist entry",
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                         "typeId": clinic.type_id, "start": "2031-03-03T11:00:00Z",
                         "waitlistEntryId": others_entry}}),
            "NOT_FOUND",
        ),
        case(
            "a waitlist page of 0",
            "{ waitlist(first: 0) { edges { node { id } } } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        case(
            "a waitlist page after a cursor of another list",
            "{ waitlist(after: \"bm90LWEtY3Vyc29y\") { edges { node { id } } } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
    ]
}

/// Two-factor sign-in's operations with arguments to spoil.
fn mfa_templates(clinic: &ApiClinic) -> Vec<Template> {
    vec![
        Template {
            ids: &["/u"],
            ..template(
                "resetUserMfa",
                Role::ClinicAdmin,
                "mutation($u: UUID!) { resetUserMfa(userId: $u) }",
                json!({"u": clinic.user(Role::Provider)}),
            )
        },
        Template {
            enums: &["/r"],
            ..template(
                "setMfaPolicy",
                Role::ClinicAdmin,
                "mutation($r: MfaPolicy!) { setMfaPolicy(requiredFor: $r) }",
                json!({"r": "EVERYONE"}),
            )
        },
    ]
}

/// Two-factor sign-in's cases that are not one argument's fault: another clinic's user (NOT_FOUND,
/// as if they did not exist), a confirmation with nothing to confirm, a wrong password where the
/// set-up needs the current one, and a sign-in code no code could be.
fn mfa_cases(clinic: &ApiClinic, other: &ApiClinic) -> Vec<Case> {
    let case = |what: &str, role: Role, query: &str, variables: Value, code: &'static str| Case {
        what: what.into(),
        role,
        query: query.into(),
        variables,
        code,
    };
    vec![
        case(
            "resetUserMfa of another clinic's user",
            Role::ClinicAdmin,
            "mutation($u: UUID!) { resetUserMfa(userId: $u) }",
            json!({"u": other.user(Role::Provider)}),
            "NOT_FOUND",
        ),
        case(
            "confirmMfaEnrollment with no set-up begun",
            Role::Provider,
            "mutation($c: String!) { confirmMfaEnrollment(code: $c) { recoveryCodes } }",
            json!({"c": "123456"}),
            "CONFLICT",
        ),
        // BillingManager's only password check in the catalogue: two attempts, inside the limit.
        case(
            "beginMfaEnrollment with a wrong current password",
            Role::BillingManager,
            "mutation($p: String!) { beginMfaEnrollment(currentPassword: $p) { secret } }",
            json!({"p": "not the current password"}),
            "BAD_USER_INPUT",
        ),
        case(
            "a sign-in code of 10,000 characters",
            Role::FrontDesk,
            "mutation($t: String!, $c: String!) {
               login(tenant: $t, username: \"frontdesk\", password: \"x\", mfaCode: $c) { token } }",
            json!({"t": clinic.slug, "c": "7".repeat(10_000)}),
            "UNAUTHENTICATED",
        ),
    ]
}

/// Issue 17's cases that are not one argument's fault: rules and spans that end before they
/// start, series too long, too many or repeated ids, bookings outside the window, and another
/// clinic's provider, patient and appointment (NOT_FOUND, as if they did not exist).
fn clinic_week_cases(
    clinic: &ApiClinic,
    other: &ApiClinic,
    (scheduled, others_appointment): (&str, &str),
) -> Vec<Case> {
    let series = |rule: Value, patient: Uuid| {
        json!({"i": {"patientId": patient, "providerId": clinic.user(Role::Provider),
                     "typeId": clinic.type_id, "firstStart": "2031-06-02T09:00:00Z", "rule": rule}})
    };
    let book_series = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId } }";
    let add_time_off =
        "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }";
    let cancel =
        "mutation($ids: [UUID!]!) { cancelAppointments(ids: $ids, reason: \"Closed\") { id } }";
    let book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
    let booking = |extra: Value| {
        let mut input = json!({"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                               "typeId": clinic.type_id, "start": "2031-03-03T10:00:00Z"});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "i": input })
    };
    let case = |what: &str, role: Role, query: &str, variables: Value, code: &'static str| Case {
        what: what.into(),
        role,
        query: query.into(),
        variables,
        code,
    };
    let monday = json!(["MONDAY"]);
    vec![
        case(
            "a series rule that ends before it starts",
            Role::FrontDesk,
            book_series,
            series(
                json!({"days": monday, "until": "2031-05-01"}),
                clinic.patient_id,
            ),
            "BAD_USER_INPUT",
        ),
        case(
            "a series of 10,000 occurrences",
            Role::FrontDesk,
            book_series,
            series(json!({"days": monday, "count": 10_000}), clinic.patient_id),
            "BAD_USER_INPUT",
        ),
        case(
            "a series running 20 years to its end date",
            Role::FrontDesk,
            book_series,
            series(
                json!({"days": monday, "until": "2051-06-02"}),
                clinic.patient_id,
            ),
            "BAD_USER_INPUT",
        ),
        case(
            "a series every 0 weeks",
            Role::FrontDesk,
            book_series,
            series(
                json!({"everyWeeks": 0, "days": monday, "count": 2}),
                clinic.patient_id,
            ),
            "BAD_USER_INPUT",
        ),
        case(
            "a series on no days",
            Role::FrontDesk,
            book_series,
            series(json!({"days": [], "count": 2}), clinic.patient_id),
            "BAD_USER_INPUT",
        ),
        case(
            "a series naming a day twice",
            Role::FrontDesk,
            book_series,
            series(
                json!({"days": ["MONDAY", "MONDAY"], "count": 2}),
                clinic.patient_id,
            ),
            "BAD_USER_INPUT",
        ),
        case(
            "a series with both a count and an end date",
            Role::FrontDesk,
            book_series,
            series(
                json!({"days": monday, "count": 2, "until": "2031-07-01"}),
                clinic.patient_id,
            ),
            "BAD_USER_INPUT",
        ),
        case(
            "a series starting on a day its rule leaves out",
            Role::FrontDesk,
            book_series,
            series(json!({"days": ["TUESDAY"], "count": 2}), clinic.patient_id),
            "BAD_USER_INPUT",
        ),
        case(
            "a series for another clinic's patient",
            Role::FrontDesk,
            book_series,
            series(json!({"days": monday, "count": 2}), other.patient_id),
            "NOT_FOUND",
        ),
        case(
            "time off that ends before it starts",
            Role::FrontDesk,
            add_time_off,
            json!({"i": {"providerId": clinic.user(Role::Provider), "start": "2031-05-05T12:00:00Z",
                          "end": "2031-05-05T09:00:00Z", "reason": "Dentist"}}),
            "BAD_USER_INPUT",
        ),
        case(
            "time off of two years",
            Role::FrontDesk,
            add_time_off,
            json!({"i": {"providerId": clinic.user(Role::Provider), "firstDay": "2031-05-05",
                          "lastDay": "2033-05-05", "reason": "Sabbatical"}}),
            "BAD_USER_INPUT",
        ),
        case(
            "time off given as both instants and days",
            Role::FrontDesk,
            add_time_off,
            json!({"i": {"providerId": clinic.user(Role::Provider), "start": "2031-05-05T09:00:00Z",
                          "end": "2031-05-05T12:00:00Z", "firstDay": "2031-05-05", "reason": "Dentist"}}),
            "BAD_USER_INPUT",
        ),
        case(
            "time off of another clinic's provider",
            Role::FrontDesk,
            add_time_off,
            json!({"i": {"providerId": other.user(Role::Provider), "firstDay": "2031-05-05", "reason": "Dentist"}}),
            "NOT_FOUND",
        ),
        case(
            "a closure whose last day is before its first",
            Role::ClinicAdmin,
            "mutation($i: AddClinicClosureInput!) { addClinicClosure(input: $i) { timeOff { id } } }",
            json!({"i": {"firstDay": "2031-12-26", "lastDay": "2031-12-25", "reason": "Christmas"}}),
            "BAD_USER_INPUT",
        ),
        case(
            "day hours that end before they start",
            Role::ClinicAdmin,
            "mutation($p: UUID!, $h: [DayPeriodInput!]) { setProviderDayHours(providerId: $p, date: \"2031-05-10\", hours: $h) { start } }",
            json!({"p": clinic.user(Role::Provider), "h": [{"start": "12:00:00", "end": "10:00:00"}]}),
            "BAD_USER_INPUT",
        ),
        case(
            "time off read over two years",
            Role::FrontDesk,
            "query($f: DateTime!, $t: DateTime!) { timeOff(from: $f, to: $t) { id } }",
            json!({"f": "2031-01-01T00:00:00Z", "t": "2033-01-01T00:00:00Z"}),
            "BAD_USER_INPUT",
        ),
        case(
            "no appointments to cancel",
            Role::FrontDesk,
            cancel,
            json!({"ids": []}),
            "BAD_USER_INPUT",
        ),
        case(
            "101 appointments to cancel",
            Role::FrontDesk,
            cancel,
            json!({"ids": (0..101).map(|_| Uuid::new_v4()).collect::<Vec<_>>()}),
            "BAD_USER_INPUT",
        ),
        case(
            "an appointment to cancel twice",
            Role::FrontDesk,
            cancel,
            json!({"ids": [others_appointment, others_appointment]}),
            "BAD_USER_INPUT",
        ),
        case(
            "a single booking cancelled as a series",
            Role::FrontDesk,
            "mutation($id: UUID!) { cancelSeriesFrom(id: $id, expectedVersion: 1, reason: \"Moved\") { id } }",
            json!({"id": scheduled}),
            "BAD_USER_INPUT",
        ),
        case(
            "a single booking moved as a series",
            Role::FrontDesk,
            "mutation($i: RescheduleSeriesFromInput!) { rescheduleSeriesFrom(input: $i) { id } }",
            json!({"i": {"id": scheduled, "expectedVersion": 1, "start": "2031-03-10T11:00:00Z"}}),
            "BAD_USER_INPUT",
        ),
        case(
            "another clinic's appointment to cancel",
            Role::FrontDesk,
            cancel,
            json!({"ids": [others_appointment]}),
            "NOT_FOUND",
        ),
        case(
            "a booking in 1997",
            Role::FrontDesk,
            book,
            booking(json!({"start": "1997-03-03T10:00:00Z"})),
            "BAD_USER_INPUT",
        ),
        case(
            "a booking in 9003",
            Role::FrontDesk,
            book,
            booking(json!({"start": "9003-03-03T10:00:00Z"})),
            "BAD_USER_INPUT",
        ),
        case(
            "a backdated booking without a reason",
            Role::ClinicAdmin,
            book,
            booking(json!({"start": "2026-01-05T10:00:00Z", "backdate": true})),
            "BAD_USER_INPUT",
        ),
        case(
            "an override of time off with an empty reason",
            Role::ClinicAdmin,
            book,
            booking(json!({"overrideTimeOff": true, "overrideReason": "  "})),
            "BAD_USER_INPUT",
        ),
    ]
}

/// Issue 17 item 3's operations: cancellation reasons, policies, the report, and the reason a
/// cancellation names.
fn cancellation_templates(clinic: &ApiClinic, appointment: &str, reason: &str) -> Vec<Template> {
    vec![
        Template {
            texts: &["/l"],
            enums: &["/c"],
            ..template(
                "addCancellationReason",
                Role::ClinicAdmin,
                "mutation($c: CancellationCategory!, $l: String!) { addCancellationReason(category: $c, label: $l) { id } }",
                json!({"c": "PATIENT_REQUEST", "l": "Overslept"}),
            )
        },
        Template {
            ids: &["/id"],
            ..template(
                "retireCancellationReason",
                Role::ClinicAdmin,
                "mutation($id: UUID!) { retireCancellationReason(id: $id) { id } }",
                json!({ "id": reason }),
            )
        },
        Template {
            ids: &["/t"],
            money: &["/l", "/n"],
            ..template(
                "setCancellationPolicy",
                Role::ClinicAdmin,
                "mutation($t: UUID!, $w: Int!, $l: Money!, $n: Money!) { setCancellationPolicy(appointmentTypeId: $t, windowHours: $w, lateCancellationFee: $l, noShowFee: $n) { windowHours } }",
                json!({"t": clinic.type_id, "w": 24, "l": "25.00", "n": "40.00"}),
            )
        },
        Template {
            ids: &["/id", "/rid"],
            texts: &["/r"],
            ..template(
                "cancelAppointment with a reason",
                Role::FrontDesk,
                "mutation($id: UUID!, $r: String!, $rid: UUID) { cancelAppointment(id: $id, expectedVersion: 1, reason: $r, reasonId: $rid) { id } }",
                json!({"id": appointment, "r": "Unwell", "rid": reason}),
            )
        },
        Template {
            ids: &["/ids/0", "/rid"],
            ..template(
                "cancelAppointments with a reason",
                Role::FrontDesk,
                "mutation($ids: [UUID!]!, $rid: UUID) { cancelAppointments(ids: $ids, reason: \"Unwell\", reasonId: $rid) { id } }",
                json!({"ids": [appointment], "rid": reason}),
            )
        },
        Template {
            dates: &["/f", "/t"],
            ..template(
                "cancellationReport",
                Role::ClinicAdmin,
                "query($f: DateTime!, $t: DateTime!) { cancellationReport(from: $f, to: $t) { count } }",
                json!({"f": "2031-01-01T00:00:00Z", "t": "2031-06-01T00:00:00Z"}),
            )
        },
    ]
}

/// Issue 17 item 3's cases that are not one argument's fault: another clinic's reasons and
/// appointment types (NOT_FOUND), a retired reason, a category the reason contradicts, windows
/// and fees out of range, reports the wrong way round or too long, and a label taken.
fn cancellation_cases(
    clinic: &ApiClinic,
    other: &ApiClinic,
    appointment: &str,
    (reason, retired, others_reason): (&str, &str, &str),
) -> Vec<Case> {
    let case = |what: &str, role: Role, query: &str, variables: Value, code: &'static str| Case {
        what: what.into(),
        role,
        query: query.into(),
        variables,
        code,
    };
    let cancel = "mutation($id: UUID!, $rid: UUID, $c: CancellationCategory) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Unwell\", reasonId: $rid, category: $c) { id } }";
    let policy = "mutation($t: UUID!, $w: Int!, $l: Money!, $n: Money!) { setCancellationPolicy(appointmentTypeId: $t, windowHours: $w, lateCancellationFee: $l, noShowFee: $n) { windowHours } }";
    let policy_of = |t: Value, w: i64, l: &str, n: &str| json!({"t": t, "w": w, "l": l, "n": n});
    let report =
        "query($f: DateTime!, $t: DateTime!) { cancellationReport(from: $f, to: $t) { count } }";
    vec![
        case(
            "another clinic's cancellation reason",
            Role::FrontDesk,
            cancel,
            json!({"id": appointment, "rid": others_reason}),
            "NOT_FOUND",
        ),
        case(
            "another clinic's cancellation reason for several",
            Role::FrontDesk,
            "mutation($ids: [UUID!]!, $rid: UUID) { cancelAppointments(ids: $ids, reason: \"Unwell\", reasonId: $rid) { id } }",
            json!({"ids": [appointment], "rid": others_reason}),
            "NOT_FOUND",
        ),
        case(
            "another clinic's cancellation reason to retire",
            Role::ClinicAdmin,
            "mutation($id: UUID!) { retireCancellationReason(id: $id) { id } }",
            json!({ "id": others_reason }),
            "NOT_FOUND",
        ),
        case(
            "another clinic's appointment type's policy",
            Role::ClinicAdmin,
            policy,
            policy_of(json!(other.type_id), 24, "25.00", "40.00"),
            "NOT_FOUND",
        ),
        case(
            "a retired cancellation reason",
            Role::FrontDesk,
            cancel,
            json!({"id": appointment, "rid": retired}),
            "BAD_USER_INPUT",
        ),
        case(
            "a category the cancellation reason contradicts",
            Role::FrontDesk,
            cancel,
            json!({"id": appointment, "rid": reason, "c": "PROVIDER_UNAVAILABLE"}),
            "BAD_USER_INPUT",
        ),
        case(
            "a negative cancellation window",
            Role::ClinicAdmin,
            policy,
            policy_of(json!(clinic.type_id), -1, "25.00", "40.00"),
            "BAD_USER_INPUT",
        ),
        case(
            "a cancellation window over a month",
            Role::ClinicAdmin,
            policy,
            policy_of(json!(clinic.type_id), 721, "25.00", "40.00"),
            "BAD_USER_INPUT",
        ),
        case(
            "a negative late-cancellation fee",
            Role::ClinicAdmin,
            policy,
            policy_of(json!(clinic.type_id), 24, "-0.01", "40.00"),
            "BAD_USER_INPUT",
        ),
        case(
            "a no-show fee of a million",
            Role::ClinicAdmin,
            policy,
            policy_of(json!(clinic.type_id), 24, "25.00", "1000000.00"),
            "BAD_USER_INPUT",
        ),
        case(
            "a cancellation report that ends before it starts",
            Role::ClinicAdmin,
            report,
            json!({"f": "2031-06-01T00:00:00Z", "t": "2031-01-01T00:00:00Z"}),
            "BAD_USER_INPUT",
        ),
        case(
            "a cancellation report over two years",
            Role::ClinicAdmin,
            report,
            json!({"f": "2031-01-01T00:00:00Z", "t": "2033-01-01T00:00:00Z"}),
            "BAD_USER_INPUT",
        ),
        case(
            "a cancellation reason labelled with spaces only",
            Role::ClinicAdmin,
            "mutation { addCancellationReason(category: OTHER, label: \"   \") { id } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        case(
            "a cancellation reason whose label a live one has",
            Role::ClinicAdmin,
            "mutation { addCancellationReason(category: OTHER, label: \"patient unwell\") { id } }",
            json!({}),
            "CONFLICT",
        ),
    ]
}

fn spoiled(template: &Template, path: &str, value: Value, what: &str, code: &'static str) -> Case {
    let mut variables = template.variables.clone();
    *variables.pointer_mut(path).expect("the path exists") = value;
    Case {
        what: format!("{} {path}: {what}", template.name),
        role: template.role,
        query: template.query.to_owned(),
        variables,
        code,
    }
}

fn cases_of(template: &Template) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut each = |paths: &[&str], value: Value, what: &str, code: &'static str| {
        for path in paths {
            cases.push(spoiled(template, path, value.clone(), what, code));
        }
    };
    each(
        template.ids,
        json!("not-a-uuid"),
        "not a UUID",
        "BAD_USER_INPUT",
    );
    each(
        template.ids,
        json!("' or 1=1 --"),
        "injection as a UUID",
        "BAD_USER_INPUT",
    );
    each(
        template.ids,
        json!(Uuid::new_v4()),
        "names nothing",
        "NOT_FOUND",
    );
    each(
        template.texts,
        json!("x".repeat(10_001)),
        "10,001 characters",
        "BAD_USER_INPUT",
    );
    each(
        template.texts,
        json!("nul\u{0}byte"),
        "a NUL character",
        "BAD_USER_INPUT",
    );
    each(
        template.texts,
        json!("bell\u{7}"),
        "a control character",
        "BAD_USER_INPUT",
    );
    each(template.texts, json!(42), "a number", "BAD_USER_INPUT");
    each(
        template.formatted,
        json!("\u{410}dmin"),
        "mixed scripts",
        "BAD_USER_INPUT",
    );
    for injection in INJECTIONS {
        each(
            template.formatted,
            json!(injection),
            "injection",
            "BAD_USER_INPUT",
        );
    }
    each(
        template.dates,
        json!("2024-02-30"),
        "no such date",
        "BAD_USER_INPUT",
    );
    each(
        template.dates,
        json!("yesterday"),
        "not a date",
        "BAD_USER_INPUT",
    );
    each(
        template.times,
        json!("25:00:00"),
        "no such time",
        "BAD_USER_INPUT",
    );
    each(
        template.money,
        json!("12.345"),
        "three decimals",
        "BAD_USER_INPUT",
    );
    each(
        template.money,
        json!("-5.00"),
        "below zero",
        "BAD_USER_INPUT",
    );
    each(
        template.money,
        json!("1e3"),
        "an exponent",
        "BAD_USER_INPUT",
    );
    each(
        template.money,
        json!(10.5),
        "a JSON number",
        "BAD_USER_INPUT",
    );
    each(
        template.enums,
        json!("NOT_A_VALUE"),
        "unknown enum value",
        "BAD_USER_INPUT",
    );
    cases
}

/// Cases that are not one argument's fault.
fn whole_request_cases(clinic: &ApiClinic) -> Vec<Case> {
    let booking = |start: &str, end: &str| {
        json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                     "typeId": clinic.type_id, "start": start, "end": end}})
    };
    let depth_bomb = format!(
        "{{ {}id{} }}",
        "patients { edges { node { ".repeat(30),
        " } } }".repeat(30)
    );
    let alias_bomb = format!(
        "{{ {} }}",
        (0..3_000)
            .map(|i| format!("a{i}: patients(first: 100) {{ edges {{ node {{ id }} }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut cases = vec![
        Case {
            what: "a visit that ends before it starts".into(),
            role: Role::FrontDesk,
            query: "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }".into(),
            variables: booking("2031-03-03T10:00:00Z", "2031-03-03T09:00:00Z"),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "working hours that end before they start".into(),
            role: Role::ClinicAdmin,
            query: "mutation($p: UUID!, $h: [WorkingHoursInput!]!) { setProviderWorkingHours(providerId: $p, hours: $h) { id } }".into(),
            variables: json!({"p": clinic.user(Role::Provider),
                "h": [{"day": "MONDAY", "start": "17:00:00", "end": "09:00:00"}]}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "appointments filtered by a provider id that is not a UUID".into(),
            role: Role::FrontDesk,
            query: "query($p: UUID) { appointments(providerId: $p) { edges { node { id } } } }".into(),
            variables: json!({"p": "not-a-uuid"}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "a page cursor that is not one".into(),
            role: Role::FrontDesk,
            query: "{ appointments(after: \"'; drop table appointments; --\") { edges { node { id } } } }".into(),
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "a depth bomb".into(),
            role: Role::FrontDesk,
            query: depth_bomb,
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "an alias bomb".into(),
            role: Role::FrontDesk,
            query: alias_bomb,
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "a fragment cycle".into(),
            role: Role::FrontDesk,
            query: "query { patients { ...a } } fragment a on PatientConnection { ...b } fragment b on PatientConnection { ...a }".into(),
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "an unknown field".into(),
            role: Role::FrontDesk,
            query: "{ patients { secrets } }".into(),
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "a syntax error".into(),
            role: Role::FrontDesk,
            query: "{ patients { edges { node { id } }".into(),
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "a missing required variable".into(),
            role: Role::FrontDesk,
            query: "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }".into(),
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
        Case {
            what: "two operations and no operation name".into(),
            role: Role::FrontDesk,
            query: "query a { version } query b { version }".into(),
            variables: json!({}),
            code: "BAD_USER_INPUT",
        },
    ];
    let node = "query($id: ID!) { node(id: $id) { nodeId } }";
    for (what, id) in [
        ("a node id that is a bare UUID", json!(clinic.patient_id)),
        ("a node id that is an injection", json!("' or 1=1 --")),
        ("a node id that is a number", json!(42)),
        ("a node id of 10,001 characters", json!("x".repeat(10_001))),
    ] {
        cases.push(Case {
            what: what.into(),
            role: Role::FrontDesk,
            query: node.into(),
            variables: json!({ "id": id }),
            code: "BAD_USER_INPUT",
        });
    }
    cases.push(Case {
        what: "101 node ids at once".into(),
        role: Role::FrontDesk,
        query: "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }".into(),
        variables: json!({ "ids": vec!["x"; 101] }),
        code: "BAD_USER_INPUT",
    });
    for (what, password) in [
        ("one letter repeated", "aaaaaaaaaaaa"),
        ("a common password", "password1234"),
        ("a keyboard row", "qwertyuiop123"),
    ] {
        cases.push(Case {
            what: format!("a guessable password: {what}"),
            role: Role::ClinicAdmin,
            query: "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }".into(),
            variables: json!({"i": {"username": "newcomer", "password": password, "role": "FRONT_DESK"}}),
            code: "BAD_USER_INPUT",
        });
        cases.push(Case {
            what: format!("a guessable new password: {what}"),
            role: Role::Provider,
            query: "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token } }".into(),
            variables: json!({"c": crate::helpers::TEST_PASSWORD, "n": password}),
            code: "BAD_USER_INPUT",
        });
    }
    for (what, name) in [
        ("zero-width characters only", "\u{200B}\u{200D}\u{FEFF}"),
        ("a right-to-left override", "Grace\u{202E}reppoH"),
        ("a bidi isolate", "\u{2068}Grace"),
        ("no letter", "1234"),
    ] {
        cases.push(Case {
            what: format!("a patient's name with {what}"),
            role: Role::FrontDesk,
            query: "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }".into(),
            variables: json!({"i": {"firstName": name, "lastName": "Hopper", "dateOfBirth": "1990-12-09"}}),
            code: "BAD_USER_INPUT",
        });
    }
    for token in [
        "not a refresh token",
        "hpmsr_AAAA",
        "hpmsr_' or 1=1 --",
        &format!("hpmsr_{}", "A".repeat(107)),
    ] {
        cases.push(Case {
            what: format!("a refresh with a token that is none: {token:.20}"),
            role: Role::FrontDesk,
            query: "mutation($r: String!) { refreshSession(refreshToken: $r) { token } }".into(),
            variables: json!({"r": token}),
            code: "UNAUTHENTICATED",
        });
    }
    let care = [
        (
            "a break-glass reason under 10 characters",
            Role::Provider,
            "mutation($p: UUID!) { breakGlass(patientId: $p, reason: \"  urgent  \") { id } }",
            json!({"p": clinic.patient_id}),
        ),
        (
            "a blank break-glass reason",
            Role::Provider,
            "mutation($p: UUID!) { breakGlass(patientId: $p, reason: \" \\n \") { id } }",
            json!({"p": clinic.patient_id}),
        ),
        (
            "a care provider who is not a provider",
            Role::ClinicAdmin,
            "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
            json!({"p": clinic.patient_id, "v": clinic.user(Role::FrontDesk)}),
        ),
        (
            "a care provider naming nothing",
            Role::ClinicAdmin,
            "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
            json!({"p": clinic.patient_id, "v": Uuid::new_v4()}),
        ),
        (
            "a care provider that is not a UUID",
            Role::ClinicAdmin,
            "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
            json!({"p": clinic.patient_id, "v": "not-a-uuid"}),
        ),
        (
            "unassigning a patient that is not a UUID",
            Role::ClinicAdmin,
            "mutation($p: UUID!, $v: UUID!) { unassignCareProvider(patientId: $p, providerId: $v) }",
            json!({"p": "' or 1=1 --", "v": clinic.user(Role::Provider)}),
        ),
        (
            "unassigning a provider that is not a UUID",
            Role::ClinicAdmin,
            "mutation($p: UUID!, $v: UUID!) { unassignCareProvider(patientId: $p, providerId: $v) }",
            json!({"p": clinic.patient_id, "v": "not-a-uuid"}),
        ),
        (
            "an access report of a patient that is not a UUID",
            Role::ClinicAdmin,
            "query($p: UUID!) { patientAccessReport(patientId: $p) { edges { node { userId } } } }",
            json!({"p": "' or 1=1 --"}),
        ),
        (
            "an access report page of 101",
            Role::ClinicAdmin,
            "query($p: UUID!) { patientAccessReport(patientId: $p, first: 101) { edges { node { userId } } } }",
            json!({"p": clinic.patient_id}),
        ),
        (
            "an access report cursor that is not one",
            Role::ClinicAdmin,
            "query($p: UUID!) { patientAccessReport(patientId: $p, after: \"nope\") { edges { node { userId } } } }",
            json!({"p": clinic.patient_id}),
        ),
        (
            "a break-glass review page of 0",
            Role::ClinicAdmin,
            "{ breakGlassEvents(first: 0) { edges { node { id } } } }",
            json!({}),
        ),
        (
            "a break-glass review cursor that is not one",
            Role::ClinicAdmin,
            "{ breakGlassEvents(after: \"not a cursor\") { edges { node { id } } } }",
            json!({}),
        ),
        (
            "a break-glass review of a patient that is not a UUID",
            Role::ClinicAdmin,
            "query($p: UUID) { breakGlassEvents(patientId: $p) { edges { node { id } } } }",
            json!({"p": "not-a-uuid"}),
        ),
    ];
    for (what, role, query, variables) in care {
        cases.push(Case {
            what: what.into(),
            role,
            query: query.into(),
            variables,
            code: "BAD_USER_INPUT",
        });
    }
    for injection in INJECTIONS {
        cases.push(Case {
            what: format!("sign-in with an injection as the clinic: {injection}"),
            role: Role::FrontDesk,
            query: "mutation($t: String!) { login(tenant: $t, username: \"admin\", password: \"whatever it is\") { token } }".into(),
            variables: json!({"t": injection}),
            code: "UNAUTHENTICATED",
        });
    }
    cases
}

#[tokio::test]
async fn every_bad_input_gets_its_code_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let sysadmin = app.system_admin().await;
    let (_, invoice) = app.completed_visit(&clinic, "2031-03-03T08:00:00Z").await;
    let booked = app
        .book(&clinic, clinic.user(Role::Provider), "2031-03-04T08:00:00Z")
        .await;
    let scheduled = booked.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let others = app
        .book(&other, other.user(Role::Provider), "2031-03-04T08:00:00Z")
        .await;
    let others_appointment = others.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reason = |clinic: &ApiClinic, label: &str| {
        let token = clinic.token(Role::ClinicAdmin).to_owned();
        let label = label.to_owned();
        let app = &app;
        async move {
            let added = app
                .graphql(
                    Some(&token),
                    "mutation($l: String!) { addCancellationReason(category: PATIENT_REQUEST, label: $l) { id } }",
                    json!({ "l": label }),
                )
                .await;
            added.ok()["addCancellationReason"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let unwell = reason(&clinic, "Patient unwell").await;
    let retired = reason(&clinic, "Snowed in").await;
    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        "mutation($id: UUID!) { retireCancellationReason(id: $id) { id } }",
        json!({ "id": retired }),
    )
    .await
    .ok();
    let others_reason = reason(&other, "Patient unwell").await;
    let others_entry = app
        .graphql(
            Some(other.token(Role::FrontDesk)),
            "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }",
            json!({"i": {"patientId": other.patient_id, "typeId": other.type_id,
                         "firstDay": "2031-05-05", "lastDay": "2031-05-09"}}),
        )
        .await;
    let others_entry = others_entry.ok()["addToWaitlist"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let xray = app.create_room(&clinic, "X-ray", Some("Imaging")).await;
    let others_room = app.create_room(&other, "Exam 1", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let before = (app.footprint(&clinic).await, app.footprint(&other).await);

    let mut cases: Vec<Case> = templates(&clinic, &scheduled, &invoice)
        .iter()
        .chain(&clinic_week_templates(&clinic, &scheduled))
        .chain(&waitlist_templates(&clinic))
        .chain(&room_templates(&clinic, &xray))
        .chain(&mfa_templates(&clinic))
        .chain(&cancellation_templates(&clinic, &scheduled, &unwell))
        .flat_map(cases_of)
        .collect();
    cases.extend(cancellation_cases(
        &clinic,
        &other,
        &scheduled,
        (&unwell, &retired, &others_reason),
    ));
    cases.extend(whole_request_cases(&clinic));
    cases.extend(clinic_week_cases(
        &clinic,
        &other,
        (&scheduled, &others_appointment),
    ));
    cases.extend(mfa_cases(&clinic, &other));
    cases.extend(waitlist_cases(&clinic, &other, &others_entry));
    cases.extend(room_cases(&clinic, &physical, &xray, &others_room));
    let mut wrong = Vec::new();
    let mut requests = 0;
    for case in &cases {
        let token = match case.role {
            Role::SystemAdmin => sysadmin.as_str(),
            role => clinic.token(role),
        };
        for &transport in Transport::for_operation(&case.query) {
            let response = app
                .graphql_over(transport, Some(token), &case.query, case.variables.clone())
                .await;
            requests += 1;
            let codes = response.codes();
            if codes.is_empty() || codes.iter().any(|code| code != case.code) {
                wrong.push(format!(
                    "{} over {transport:?}: expected {}, got {:?}",
                    case.what, case.code, response.0
                ));
            }
        }
    }
    println!("bad-input catalogue: {requests} requests over the transports");
    println!("bad-input catalogue: {} GraphQL cases", cases.len());
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        (app.footprint(&clinic).await, app.footprint(&other).await),
        before,
        "nothing was written"
    );
}

/// Bodies that are not a GraphQL request at all: a GraphQL error with BAD_USER_INPUT, never a
/// 5xx (a 4xx when the body cannot be read as a request; an object without a query is read as
/// an empty document, a syntax error like any other).
#[tokio::test]
async fn requests_that_are_not_graphql_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let url = app.url("/graphql");
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"query\": ".to_vec(),
        ),
        (
            "JSON that is not an object",
            "application/json",
            b"[1, 2, 3]".to_vec(),
        ),
        (
            "a JSON string",
            "application/json",
            b"\"{ version }\"".to_vec(),
        ),
        (
            "no query",
            "application/json",
            b"{\"variables\": {}}".to_vec(),
        ),
        (
            "a query that is not a string",
            "application/json",
            b"{\"query\": 42}".to_vec(),
        ),
        ("plain text", "text/plain", b"{ version }".to_vec()),
        (
            "a form",
            "application/x-www-form-urlencoded",
            b"query=%7B+version+%7D".to_vec(),
        ),
        (
            "bytes that are not UTF-8",
            "application/json",
            vec![0xff, 0xfe, 0x00, 0x7b],
        ),
        ("an empty body", "application/json", Vec::new()),
        (
            "a batch of 1,000 operations",
            "application/json",
            serde_json::to_vec(&vec![json!({"query": "{ version }"}); 1_000]).unwrap(),
        ),
    ];
    let count = bodies.len();
    let mut wrong = Vec::new();
    for (what, content_type, body) in bodies {
        let response = client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<Value>(&text).unwrap_or_default();
        let error = &body["errors"][0];
        // Refused before any document was read: no location in one is claimed.
        let placed_nowhere = !status.is_client_error() || error.get("locations").is_none();
        if status.is_server_error()
            || error["extensions"]["code"] != "BAD_USER_INPUT"
            || !placed_nowhere
        {
            wrong.push(format!("{what}: HTTP {status}, {text}"));
        }
    }
    println!("bad-input catalogue: {count} non-GraphQL bodies");
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Injection strings where free text is allowed (names, address, clinical notes) are text like
/// any other: each is stored and read back exactly as sent, or refused with BAD_USER_INPUT,
/// searching for one finds only what holds it, and the other clinic is untouched.
#[tokio::test]
async fn injection_strings_in_free_text_are_only_text() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let other_before = app.footprint(&other).await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let mut stored = 0;
    for injection in INJECTIONS {
        let created = app
            .graphql(
                admin,
                "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
                json!({"i": {"firstName": injection, "lastName": injection, "dateOfBirth": "1990-01-01",
                    "contact": {"address": injection},
                    "medical": {"allergies": injection, "medications": injection, "notes": injection}}}),
            )
            .await;
        if created.errors().is_empty() {
            stored += 1;
            let read = app
                .graphql(
                    admin,
                    "query($id: UUID!) { patient(id: $id) { firstName lastName contact { address }
                       medical { allergies medications notes } } }",
                    json!({"id": created.data()["createPatient"]["id"]}),
                )
                .await;
            let patient = &read.ok()["patient"];
            for value in [
                &patient["firstName"],
                &patient["lastName"],
                &patient["contact"]["address"],
                &patient["medical"]["allergies"],
                &patient["medical"]["medications"],
                &patient["medical"]["notes"],
            ] {
                assert_eq!(value, injection, "stored verbatim");
            }
        } else {
            assert_eq!(
                created.code(),
                "BAD_USER_INPUT",
                "{injection}: {:?}",
                created.0
            );
        }
        let found = app
            .graphql(
                admin,
                "query($s: String!) { patients(search: $s) { edges { node { lastName } } } }",
                json!({"s": injection}),
            )
            .await;
        let edges = found.ok()["patients"]["edges"].as_array().unwrap().clone();
        assert!(
            edges
                .iter()
                .all(|edge| edge["node"]["lastName"] == injection),
            "the search for {injection} found {edges:?}"
        );
    }
    println!(
        "{stored} of {} injection strings stored as text",
        INJECTIONS.len()
    );
    // Its audit rows, users and patients; the last figure counts every clinic's audit rows.
    assert_eq!(
        app.footprint(&other).await[..3],
        other_before[..3],
        "the other clinic is untouched"
    );
}

/// Persisted-query extensions that cannot be honoured, over POST and over GET: each gets its
/// code (PERSISTED_QUERY_NOT_FOUND only for a well-formed hash the server has not kept, so that
/// Apollo's link falls back exactly then), no `data`, and never a 5xx.
#[tokio::test]
async fn persisted_query_extensions_that_cannot_be_honoured_get_their_codes() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let persisted = |hash: Value| json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let unknown = "0".repeat(64);
    let cases: Vec<(&str, Option<&str>, Value, &str)> = vec![
        (
            "not an object",
            None,
            json!({"persistedQuery": "yes"}),
            "BAD_USER_INPUT",
        ),
        (
            "version 2",
            None,
            json!({"persistedQuery": {"version": 2, "sha256Hash": unknown}}),
            "BAD_USER_INPUT",
        ),
        (
            "a hash that is a number",
            None,
            persisted(json!(42)),
            "BAD_USER_INPUT",
        ),
        (
            "an unknown hash",
            None,
            persisted(json!(unknown)),
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (
            "an injection as the hash",
            None,
            persisted(json!("' or 1=1 --")),
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (
            "another query's hash",
            Some("{ version }"),
            persisted(json!(unknown)),
            "BAD_USER_INPUT",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, query, extensions, code) in &cases {
        let mut body = json!({ "extensions": extensions });
        let mut parameters = vec![("extensions", extensions.to_string())];
        if let Some(query) = query {
            body["query"] = json!(query);
            parameters.push(("query", query.to_string()));
        }
        let post = client.post(app.url("/graphql")).json(&body);
        let get = client.get(app.url("/graphql")).query(&parameters);
        for (method, request) in [("POST", post), ("GET", get)] {
            let response = request
                .header("accept", "application/graphql-response+json")
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or_default();
            if status.is_server_error()
                || answer["errors"][0]["extensions"]["code"] != *code
                || answer.get("data").is_some_and(|data| !data.is_null())
            {
                wrong.push(format!("{what} over {method}: HTTP {status}, {answer}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
