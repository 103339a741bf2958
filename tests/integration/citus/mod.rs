//! Scale-out on a real Citus cluster: a coordinator that holds no shards and two workers
//! (scripts/citus_cluster.sh), set up as the README's Scale-out says (migrations, then
//! sql/citus/settings.sql, policies.sql and distribute.sql as shipped). `make test-citus`
//! (scripts/test_citus.sh) runs these against it; elsewhere they are ignored.
//!
//! A Citus database cannot be cloned per test, so every test here shares the cluster's database
//! and keeps to clinics of its own (`unique_slug`). The server connects as the application role,
//! over TLS with the nodes' own certificates, exactly as against one PostgreSQL.

use std::collections::HashMap;

use hpms::foundation::config::Secret;
use hpms::foundation::db;
use hpms::foundation::role::Role;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::subscriptions::EventSocket;
use crate::helpers::{ApiClinic, TENANT_TABLES, TestApp, unique_slug};

/// The coordinator as a superuser, to read Citus' own catalogs and counters.
async fn coordinator() -> DatabaseConnection {
    let url = std::env::var("CITUS_SUPERUSER_URL")
        .expect("CITUS_SUPERUSER_URL: run the scale-out suite with `make test-citus`");
    db::connect(&Secret::from(url), 2)
        .await
        .expect("the coordinator answers")
}

async fn scalar_rows(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> Vec<i64> {
    db.query_all_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
    .expect("the catalog query runs")
    .iter()
    .map(|row| row.try_get_by_index::<i64>(0).expect("a bigint"))
    .collect()
}

/// Everything a clinic does in a day, through the API: reads with PHI, a booking and its clash,
/// a completed visit with its invoice, a payment retried, time off over a booking and its
/// cancellation, free slots around it, a recurring series with a clash, and a late cancellation
/// and a no-show billed and written off. Returns the completed appointment.
async fn a_clinics_day(app: &TestApp, clinic: &ApiClinic) -> String {
    let provider = clinic.token(Role::Provider);
    let read = app
        .graphql(
            Some(provider),
            "query($id: UUID!) { patient(id: $id) { firstName contact { phone } medical { allergies } } }",
            json!({"id": clinic.patient_id}),
        )
        .await;
    assert_eq!(read.ok()["patient"]["firstName"], "Ada", "{read:?}");
    assert!(read.ok()["patient"]["contact"].is_object(), "{read:?}");

    let start = "2031-03-03T09:00:00Z";
    let clash = app.book(clinic, clinic.user(Role::Provider), start).await;
    assert!(clash.errors().is_empty(), "{clash:?}");
    let refused = app.book(clinic, clinic.user(Role::Provider), start).await;
    assert_eq!(
        refused.code(),
        "CONFLICT",
        "the shards keep the no-double-booking constraint"
    );

    let (appointment, invoice) = app.completed_visit(clinic, "2031-03-03T11:00:00Z").await;
    let billing = clinic.token(Role::BillingManager);
    let pay = |key: &'static str| {
        app.graphql(
            Some(billing),
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { entry { id } invoice { balance } } }",
            json!({"i": {"invoiceId": invoice, "amount": "30.00", "method": "CARD", "idempotencyKey": key}}),
        )
    };
    let first = pay("visit-1").await;
    let retried = pay("visit-1").await;
    assert_eq!(first.ok()["recordPayment"]["invoice"]["balance"], "50.00");
    assert_eq!(
        retried.ok()["recordPayment"]["entry"]["id"],
        first.ok()["recordPayment"]["entry"]["id"],
        "a retried payment posts once"
    );
    clinic_week(app, clinic).await;
    cancellation_fees(app, clinic).await;
    waitlist(app, clinic).await;
    rooms(app, clinic).await;
    appointment
}

/// Issue 17 item 4's part of the day: a room and a type that needs its kind, a visit that takes
/// the room, another provider refused the same room at the same time (the shards keep the room's
/// exclusion constraint), the slots that honour the room, and a move that keeps it.
async fn rooms(app: &TestApp, clinic: &ApiClinic) {
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let front_desk = Some(clinic.token(Role::FrontDesk));
    let room = app
        .graphql(
            admin,
            "mutation { createRoom(input: {name: \"Exam 1\", kind: \"Exam\"}) { id } }",
            json!({}),
        )
        .await;
    let room = room.ok()["createRoom"]["id"].clone();
    let physical = app
        .graphql(
            admin,
            "mutation { createAppointmentType(input: {name: \"Physical\", durationMinutes: 30, price: \"90.00\", roomKind: \"Exam\"}) { id } }",
            json!({}),
        )
        .await;
    let physical = physical.ok()["createAppointmentType"]["id"].clone();
    let colleague = app
        .create_provider(clinic, "dr.two", crate::helpers::ALL_DAY_EVERY_DAY.clone())
        .await;
    const BOOK: &str =
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id roomId } }";
    let book = |provider: Uuid| {
        app.graphql(
            front_desk,
            BOOK,
            json!({"i": {"patientId": clinic.patient_id, "providerId": provider,
                         "typeId": physical, "start": "2031-03-06T10:00:00Z"}}),
        )
    };
    let booked = book(clinic.user(Role::Provider)).await;
    assert_eq!(booked.ok()["bookAppointment"]["roomId"], room);
    let refused = book(colleague).await;
    assert_eq!(
        refused.code(),
        "CONFLICT",
        "the shards keep the room's constraint"
    );
    let slots = app
        .graphql(
            front_desk,
            "query($p: UUID!, $t: UUID!) { availableSlots(providerId: $p, date: \"2031-03-06\", typeId: $t) }",
            json!({"p": colleague, "t": physical}),
        )
        .await;
    let slots = slots.ok()["availableSlots"].as_array().unwrap().clone();
    assert!(
        !slots.contains(&json!("2031-03-06T10:00:00+00:00")),
        "{slots:?}"
    );
    assert!(
        slots.contains(&json!("2031-03-06T10:30:00+00:00")),
        "{slots:?}"
    );
    let moved = app
        .graphql(
            front_desk,
            "mutation($id: UUID!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: \"2031-03-06T12:00:00Z\"}) { roomId } }",
            json!({"id": booked.ok()["bookAppointment"]["id"]}),
        )
        .await;
    assert_eq!(moved.ok()["rescheduleAppointment"]["roomId"], room);
}

/// Issue 17 item 3's part of the day: a policy and a reason set, a patient's late cancellation
/// and a no-show each billed once on the ledger, the no-show's fee written off, the report read.
async fn cancellation_fees(app: &TestApp, clinic: &ApiClinic) {
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let front_desk = Some(clinic.token(Role::FrontDesk));
    let billing = Some(clinic.token(Role::BillingManager));
    app.graphql(
        admin,
        "mutation($t: UUID!) { setCancellationPolicy(appointmentTypeId: $t, windowHours: 24, lateCancellationFee: \"25.00\", noShowFee: \"40.00\") { windowHours } }",
        json!({"t": clinic.type_id}),
    )
    .await
    .ok();
    let reason = app
        .graphql(
            admin,
            "mutation { addCancellationReason(category: PATIENT_REQUEST, label: \"Patient unwell\") { id } }",
            json!({}),
        )
        .await;
    let reason = reason.ok()["addCancellationReason"]["id"].clone();
    let soon = |hours: i64| {
        (chrono::Utc::now() + chrono::Duration::hours(hours))
            .format("%Y-%m-%dT%H:%M:00Z")
            .to_string()
    };
    let late = app
        .book(clinic, clinic.user(Role::Provider), &soon(2))
        .await;
    let late = late.ok()["bookAppointment"]["id"].clone();
    let missed = app
        .book(clinic, clinic.user(Role::Provider), &soon(4))
        .await;
    let missed = missed.ok()["bookAppointment"]["id"].clone();
    app.graphql(
        front_desk,
        "mutation($id: UUID!, $r: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Called in\", reasonId: $r) { status } }",
        json!({"id": late, "r": reason}),
    )
    .await
    .ok();
    app.graphql(
        front_desk,
        "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: NO_SHOW) { status } }",
        json!({"id": missed}),
    )
    .await
    .ok();
    let invoice_of = |id: Value| {
        app.graphql(
            billing,
            "query($id: UUID!) { appointment(id: $id) { invoice { id kind balance } } }",
            json!({ "id": id }),
        )
    };
    let fee = invoice_of(late).await;
    assert_eq!(
        fee.ok()["appointment"]["invoice"]["kind"],
        "LATE_CANCELLATION_FEE"
    );
    let no_show = invoice_of(missed).await;
    let no_show = no_show.ok()["appointment"]["invoice"].clone();
    assert_eq!(no_show["balance"], "40.00", "{no_show}");
    let written_off = app
        .graphql(
            billing,
            "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { invoice { balance } } }",
            json!({"i": {"invoiceId": no_show["id"], "amount": "40.00", "reason": "First miss", "idempotencyKey": "no-show-1"}}),
        )
        .await;
    assert_eq!(
        written_off.ok()["writeOffInvoice"]["invoice"]["balance"],
        "0.00"
    );
    let from = chrono::Utc::now() - chrono::Duration::days(1);
    let report = app
        .graphql(
            admin,
            "query($f: DateTime!, $t: DateTime!) { cancellationReport(from: $f, to: $t) { category count } }",
            json!({"f": from.to_rfc3339(), "t": (from + chrono::Duration::days(30)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        report.ok()["cancellationReport"],
        json!([{"category": "PATIENT_REQUEST", "count": 1}])
    );
}

/// Issue 17 item 5's part of the day: a patient waits, a cancellation frees a slot they fit
/// (the SlotFreed trigger reads the waitlist on the worker), the freed slot is offered and
/// booked from the waitlist, which ends the entry.
async fn waitlist(app: &TestApp, clinic: &ApiClinic) {
    let front_desk = clinic.token(Role::FrontDesk);
    let provider = clinic.user(Role::Provider);
    let entry = app
        .graphql(
            Some(front_desk),
            "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }",
            json!({"i": {"patientId": clinic.patient_id, "typeId": clinic.type_id,
                         "firstDay": "2031-03-05", "notes": "Any time"}}),
        )
        .await;
    let entry = entry.ok()["addToWaitlist"]["id"].clone();
    let booked = app.book(clinic, provider, "2031-03-05T15:00:00Z").await;
    let booked = booked.ok()["bookAppointment"]["id"].clone();
    let after = app.latest_event_id(clinic).await;
    app.graphql(
        Some(front_desk),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Feeling better\") { id } }",
        json!({"id": booked}),
    )
    .await
    .ok();
    let events = app
        .graphql(
            Some(front_desk),
            "query($a: ID!) { appointmentEvents(after: $a) { kind patientId } }",
            json!({"a": after.to_string()}),
        )
        .await;
    assert_eq!(
        events.ok()["appointmentEvents"],
        json!([{"kind": "CANCELLED", "patientId": clinic.patient_id},
               {"kind": "SLOT_FREED", "patientId": null}])
    );
    let offered = app
        .graphql(
            Some(front_desk),
            "query($p: UUID!) { waitlistMatches(providerId: $p, start: \"2031-03-05T15:00:00Z\", end: \"2031-03-05T15:30:00Z\") { id } }",
            json!({"p": provider}),
        )
        .await;
    assert_eq!(offered.ok()["waitlistMatches"], json!([{"id": entry}]));
    app.graphql(
        Some(front_desk),
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        json!({"i": {"patientId": clinic.patient_id, "providerId": provider, "typeId": clinic.type_id,
                     "start": "2031-03-05T15:00:00Z", "waitlistEntryId": entry}}),
    )
    .await
    .ok();
    let left = app
        .graphql(
            Some(front_desk),
            "{ waitlist { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(left.ok()["waitlist"]["edges"], json!([]));
}

/// Issue 17's part of the day: time off entered over a booking, which is cancelled; the slots
/// skip the time off; a series refused for its one clash, then booked.
async fn clinic_week(app: &TestApp, clinic: &ApiClinic) {
    let front_desk = clinic.token(Role::FrontDesk);
    let provider = clinic.user(Role::Provider);
    let affected = app
        .graphql(
            Some(front_desk),
            "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { affectedAppointments { id } } }",
            json!({"i": {"providerId": provider, "start": "2031-03-03T08:00:00Z",
                         "end": "2031-03-03T10:00:00Z", "reason": "Dentist"}}),
        )
        .await;
    let affected = affected.ok()["addTimeOff"]["affectedAppointments"].clone();
    assert_eq!(affected.as_array().unwrap().len(), 1, "{affected}");
    let ids: Vec<Value> = affected
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].clone())
        .collect();
    app.graphql(
        Some(front_desk),
        "mutation($ids: [UUID!]!) { cancelAppointments(ids: $ids, reason: \"Provider away\") { status } }",
        json!({"ids": ids}),
    )
    .await
    .ok();
    let slots = app
        .graphql(
            Some(front_desk),
            "query($p: UUID!, $t: UUID!) { availableSlots(providerId: $p, date: \"2031-03-03\", typeId: $t) }",
            json!({"p": provider, "t": clinic.type_id}),
        )
        .await;
    let slots = slots.ok()["availableSlots"].as_array().unwrap().clone();
    assert!(!slots.contains(&json!("2031-03-03T09:00:00+00:00")));
    assert!(slots.contains(&json!("2031-03-03T10:00:00+00:00")));

    let series = |first: &str| {
        json!({"i": {"patientId": clinic.patient_id, "providerId": provider, "typeId": clinic.type_id,
                     "firstStart": first, "rule": {"days": ["MONDAY"], "count": 3}}})
    };
    let book_series =
        "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { appointments { id } } }";
    let refused = app
        .graphql(
            Some(front_desk),
            book_series,
            series("2031-02-24T11:00:00Z"),
        )
        .await;
    assert_eq!(
        refused.code(),
        "CONFLICT",
        "the completed visit of 2031-03-03"
    );
    let booked = app
        .graphql(
            Some(front_desk),
            book_series,
            series("2031-02-24T13:00:00Z"),
        )
        .await;
    assert_eq!(
        booked.ok()["bookSeries"]["appointments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn a_clinic_signs_in_reads_phi_books_bills_and_is_audited_on_citus() {
    let app = TestApp::spawn_on_shared_database().await;
    let clinic = app.clinic(&unique_slug("north")).await;
    let appointment = a_clinics_day(&app, &clinic).await;

    let audit = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: String!) { auditLogs(entityId: $id, first: 50) { edges { node { entityName action occurredAt } } } }",
            json!({"id": appointment}),
        )
        .await;
    let rows: Vec<&Value> = audit.ok()["auditLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    assert!(rows.len() >= 4, "booked and three status changes: {rows:?}");
    assert!(
        rows.iter().all(|row| row["entityName"] == "appointments"),
        "audit rows name the table, not the shard: {rows:?}"
    );
    let times: Vec<&str> = rows
        .iter()
        .map(|row| row["occurredAt"].as_str().unwrap())
        .collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, newest_first, "newest first is time order");

    let reads = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: String!) { auditLogs(entityName: \"patients\", entityId: $id, first: 50) { edges { node { action } } } }",
            json!({"id": clinic.patient_id.to_string()}),
        )
        .await;
    let actions: Vec<&Value> = reads.ok()["auditLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"]["action"])
        .collect();
    assert!(
        actions.contains(&&json!("READ")),
        "the PHI read is audited: {actions:?}"
    );
}

#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn clinics_are_onboarded_and_audited_once_through_the_reference_table() {
    let app = TestApp::spawn_on_shared_database().await;
    let sysadmin = app.system_admin().await;
    let slug = unique_slug("onboarded");
    let created = app
        .graphql(
            Some(&sysadmin),
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } } }",
            json!({"i": {"name": "Onboarded", "slug": slug, "adminUsername": "admin", "adminPassword": "a long enough password"}}),
        )
        .await;
    let tenant: Uuid = created.ok()["createTenant"]["tenant"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let admin = app
        .login_with(&slug, "admin", "a long enough password")
        .await;
    let audit = app
        .graphql(
            Some(&admin),
            "query($id: String!) { auditLogs(entityName: \"tenants\", entityId: $id) { edges { node { action } } } }",
            json!({"id": tenant.to_string()}),
        )
        .await;
    let edges = audit.ok()["auditLogs"]["edges"].as_array().unwrap().clone();
    assert_eq!(
        edges.len(),
        1,
        "one row for the clinic's creation, not one per placement of `tenants`: {edges:?}"
    );
}

#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn a_partner_key_reads_its_clinics_feed_on_citus() {
    let app = TestApp::spawn_on_shared_database().await;
    let clinic = app.clinic(&unique_slug("partnered")).await;
    app.book(&clinic, clinic.user(Role::Provider), "2031-03-04T09:00:00Z")
        .await
        .ok();
    let (key, _) = app.issue_api_key(&clinic, "Reminders").await;
    let feed = app
        .graphql_with_api_key(
            &key,
            "{ appointmentEvents(first: 10) { id kind } }",
            json!({}),
        )
        .await;
    let events = feed.ok()["appointmentEvents"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "BOOKED");
}

#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn each_clinics_rows_live_together_on_one_worker() {
    let app = TestApp::spawn_on_shared_database().await;
    let clinic = app.clinic(&unique_slug("placed")).await;
    a_clinics_day(&app, &clinic).await;
    let coordinator = coordinator().await;
    let mut nodes = Vec::new();
    for table in TENANT_TABLES {
        nodes.extend(
            scalar_rows(
                &coordinator,
                "select nodeport::bigint from citus_shards
                  where table_name = $1::regclass
                    and shardid = get_shard_id_for_distribution_column($1, $2)",
                vec![table.into(), clinic.tenant_id.into()],
            )
            .await,
        );
    }
    nodes.dedup();
    assert_eq!(
        nodes.len(),
        1,
        "one node holds every table's rows of the clinic: {nodes:?}"
    );
    let workers = scalar_rows(
        &coordinator,
        "select nodeport::bigint from pg_dist_node where groupid <> 0",
        vec![],
    )
    .await;
    assert!(workers.contains(&nodes[0]), "a worker, not the coordinator");
}

/// Run alone (scripts/test_citus.sh runs it first): Citus' own counters, reset, then one
/// clinic's day through the API: every statement the server sent was routed to a single shard.
#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn every_statement_of_a_clinics_day_runs_on_one_shard() {
    let app = TestApp::spawn_on_shared_database().await;
    let clinic = app.clinic(&unique_slug("routed")).await;
    let coordinator = coordinator().await;
    let counters = "select query_execution_single_shard, query_execution_multi_shard
                      from citus_stat_counters((select oid from pg_database where datname = current_database()))";
    coordinator
        .execute_unprepared("select citus_stat_counters_reset((select oid from pg_database where datname = current_database()))")
        .await
        .expect("the counters reset");
    a_clinics_day(&app, &clinic).await;
    let row = coordinator
        .query_one_raw(Statement::from_string(
            coordinator.get_database_backend(),
            counters,
        ))
        .await
        .unwrap()
        .unwrap();
    let single: i64 = row.try_get_by_index(0).unwrap();
    let multi: i64 = row.try_get_by_index(1).unwrap();
    println!("a clinic's day on Citus: {single} single-shard executions, {multi} multi-shard");
    assert!(single > 20, "the counters counted the day");
    assert_eq!(multi, 0, "no statement fanned out to several shards");
}

/// The worker port holding `clinic`'s shards.
async fn worker_of(coordinator: &DatabaseConnection, clinic: &ApiClinic) -> i64 {
    scalar_rows(
        coordinator,
        "select nodeport::bigint from citus_shards
          where table_name = 'appointment_events'::regclass
            and shardid = get_shard_id_for_distribution_column('appointment_events', $1)",
        vec![clinic.tenant_id.into()],
    )
    .await[0]
}

/// Subscriptions through the coordinator are live for clinics on either worker (the worker's
/// trigger sends the NOTIFY, and the instance listens on every worker), and deactivating the
/// subscriber ends their subscription there too.
#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn subscriptions_are_live_for_clinics_on_every_worker_and_end_on_revocation() {
    let app = TestApp::spawn_on_shared_database().await;
    let coordinator = coordinator().await;
    let mut by_worker: HashMap<i64, ApiClinic> = HashMap::new();
    for _ in 0..12 {
        let clinic = app.clinic(&unique_slug("live")).await;
        by_worker
            .entry(worker_of(&coordinator, &clinic).await)
            .or_insert(clinic);
        if by_worker.len() == 2 {
            break;
        }
    }
    assert_eq!(by_worker.len(), 2, "clinics on both workers");
    for clinic in by_worker.values() {
        let mut socket = EventSocket::subscribe(
            app.address,
            json!({"token": clinic.token(Role::FrontDesk)}),
            Some(app.latest_event_id(clinic).await),
        )
        .await;
        // The first booking may come by replay or live; once it has come the subscription is
        // streaming, and only a live notification can bring the second.
        for start in ["2031-03-05T09:00:00Z", "2031-03-05T10:00:00Z"] {
            app.book(clinic, clinic.user(Role::Provider), start)
                .await
                .ok();
            let event = socket.next_event().await;
            assert_eq!(event["newStatus"], "SCHEDULED", "{event}");
        }

        app.graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }",
            json!({"id": clinic.user(Role::FrontDesk)}),
        )
        .await
        .ok();
        assert_eq!(
            socket.final_error().await["extensions"]["code"],
            "UNAUTHENTICATED",
            "the deactivated user's subscription ends"
        );
    }
}

/// A clinic's rows as the superuser counts them (every tenant table), and its ledger's debits
/// and credits.
async fn footprint(coordinator: &DatabaseConnection, clinic: &ApiClinic) -> (Vec<i64>, Vec<i64>) {
    let mut counts = Vec::new();
    for table in TENANT_TABLES {
        counts.extend(
            scalar_rows(
                coordinator,
                &format!("select count(*) from {table} where tenant_id = $1"),
                vec![clinic.tenant_id.into()],
            )
            .await,
        );
    }
    let ledger = scalar_rows(
        coordinator,
        "select (sum(amount) filter (where side = 'Debit') * 100)::bigint from ledger_lines where tenant_id = $1
         union all
         select (sum(amount) filter (where side = 'Credit') * 100)::bigint from ledger_lines where tenant_id = $1",
        vec![clinic.tenant_id.into()],
    )
    .await;
    (counts, ledger)
}

/// Moving a clinic's shard group to the other worker (`citus_move_shard_placement`) while its
/// front desk keeps reading and booking: no request fails, and afterwards the clinic's rows are
/// all there, on the other worker, with the ledger balanced. `block_writes`: writes to the moving
/// shards wait for the copy, and reads go on. (Logical replication, Citus' other mode, cannot
/// apply rows to tables under row-level security on PostgreSQL 15: its subscription role is no
/// superuser.)
#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn a_clinic_moves_to_the_other_worker_under_load_with_no_request_failing() {
    let app = TestApp::spawn_on_shared_database().await;
    let clinic = app.clinic(&unique_slug("moving")).await;
    a_clinics_day(&app, &clinic).await;
    let coordinator = coordinator().await;
    let from = worker_of(&coordinator, &clinic).await;
    let workers = scalar_rows(
        &coordinator,
        "select nodeport::bigint from pg_dist_node where groupid <> 0 order by nodeport",
        vec![],
    )
    .await;
    let to = *workers.iter().find(|port| **port != from).unwrap();
    let (counts_before, ledger_before) = footprint(&coordinator, &clinic).await;

    let moving = std::sync::atomic::AtomicBool::new(true);
    let shard_move = async {
        let started = std::time::Instant::now();
        let moved = coordinator
            .execute_raw(Statement::from_sql_and_values(
                coordinator.get_database_backend(),
                "select citus_move_shard_placement(
                   get_shard_id_for_distribution_column('users', $1),
                   '127.0.0.1', $2::int, '127.0.0.1', $3::int,
                   shard_transfer_mode => 'block_writes')",
                [clinic.tenant_id.into(), from.into(), to.into()],
            ))
            .await;
        moving.store(false, std::sync::atomic::Ordering::Relaxed);
        moved.expect("the shard group moves");
        started.elapsed()
    };
    let front_desk = async {
        let (mut requests, mut failed, mut booked) = (0, Vec::new(), 0);
        let day: chrono::DateTime<chrono::Utc> = "2032-01-05T00:00:00Z".parse().unwrap();
        while moving.load(std::sync::atomic::Ordering::Relaxed) || requests < 20 {
            let read = app
                .graphql(
                    Some(clinic.token(Role::FrontDesk)),
                    "{ appointments(first: 20) { edges { node { id patient { firstName } } } } }",
                    json!({}),
                )
                .await;
            let start = day + chrono::Duration::hours(booked);
            let book = app
                .graphql(
                    Some(clinic.token(Role::ClinicAdmin)),
                    "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
                    json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                                 "typeId": clinic.type_id, "start": start.to_rfc3339(), "overrideWorkingHours": true}}),
                )
                .await;
            requests += 2;
            if book.errors().is_empty() {
                booked += 1;
            }
            for answer in [read, book] {
                if !answer.errors().is_empty() {
                    failed.push(answer.0);
                }
            }
        }
        (requests, failed, booked)
    };
    let started = std::time::Instant::now();
    let (move_took, (requests, failed, booked)) = tokio::join!(shard_move, front_desk);
    println!(
        "shard move under load: the move took {} ms; {requests} requests in {:.1} s, {} failed, \
         {booked} bookings",
        move_took.as_millis(),
        started.elapsed().as_secs_f64(),
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(
        worker_of(&coordinator, &clinic).await,
        to,
        "the clinic moved"
    );

    let (counts_after, ledger_after) = footprint(&coordinator, &clinic).await;
    assert_eq!(ledger_after, ledger_before, "the ledger is as it was");
    assert_eq!(ledger_after[0], ledger_after[1], "and balanced");
    let appointments = TENANT_TABLES
        .iter()
        .position(|table| *table == "appointments")
        .unwrap();
    assert_eq!(
        counts_after[appointments],
        counts_before[appointments] + booked,
        "every booking made during the move is there"
    );
    for (index, table) in TENANT_TABLES.iter().enumerate() {
        assert!(
            counts_after[index] >= counts_before[index],
            "{table} lost rows"
        );
    }
}

#[tokio::test]
#[ignore = "needs the Citus cluster: make test-citus runs it"]
async fn the_audit_chain_history_break_glass_and_refusals_hold_on_citus() {
    let app = TestApp::spawn_on_shared_database().await;
    let clinic = app.clinic(&unique_slug("chained")).await;
    a_clinics_day(&app, &clinic).await;
    let outside = app.create_patient(&clinic, "Outside", "Care").await;
    let provider = clinic.token(Role::Provider);

    for allergies in ["latex", "pollen"] {
        app.graphql(
            Some(provider),
            "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { id } }",
            json!({"i": {"id": clinic.patient_id, "medical": {"allergies": allergies}}}),
        )
        .await
        .ok();
    }
    let history = app
        .graphql(
            Some(provider),
            "query($id: UUID!) { patient(id: $id) { history { version changedSections } } }",
            json!({"id": clinic.patient_id}),
        )
        .await;
    assert_eq!(
        history.ok()["patient"]["history"].as_array().unwrap().len(),
        2
    );

    let medical = "query($id: UUID!) { patient(id: $id) { lastName medical { allergies } } }";
    let refused = app
        .graphql(Some(provider), medical, json!({"id": outside}))
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    app.graphql(
        Some(provider),
        "mutation($p: UUID!) { breakGlass(patientId: $p, reason: \"Covering an emergency\") { id } }",
        json!({"p": outside}),
    )
    .await
    .ok();
    app.graphql(Some(provider), medical, json!({"id": outside}))
        .await
        .ok();

    let report = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: UUID!) { patientAccessReport(patientId: $id) { edges { node { userId shown } } } }",
            json!({"id": outside}),
        )
        .await;
    assert!(
        report.ok()["patientAccessReport"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|edge| edge["node"]["shown"] == json!(["medical"])),
        "{report:?}"
    );

    let verified = crate::helpers::server_process::hpms("verify-audit", "warn")
        .env("DATABASE_URL", app.db.app_url())
        .output()
        .await
        .expect("hpms verify-audit runs");
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{verified:?}");
    assert!(
        report.contains(&format!("clinic {}: ", clinic.tenant_id))
            && report.contains("chain intact"),
        "{report}"
    );
}
