//! Rooms and equipment (issue 17, item 4): a visit whose type needs a kind of room takes the
//! room named or the first free one of that kind, by name; the database refuses a room's
//! double-booking as it refuses a provider's, so of concurrent bookings of one room by different
//! providers one wins and the others get CONFLICT naming the room; `availableSlots` offers only
//! times when the provider and a suitable room are both free; a move keeps the room or takes
//! another free one of the kind; a room with upcoming visits cannot be removed.

use hpms::foundation::role::Role::{ClinicAdmin, FrontDesk, Provider};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ALL_DAY_EVERY_DAY, ApiClinic, TestApp};

const BOOK: &str = "mutation($i: BookAppointmentInput!) {
    bookAppointment(input: $i) { id version roomId room { name kind } } }";

/// Monday 6 January 2031 (the tests' clinics keep UTC).
const MONDAY: &str = "2031-01-06";

/// Books the clinic's patient as the front desk: `extra` adds to the input (a roomId, say).
async fn book(
    app: &TestApp,
    clinic: &ApiClinic,
    (provider, type_id): (Uuid, &str),
    start: &str,
    extra: Value,
) -> crate::helpers::Gql {
    let mut input = json!({"patientId": clinic.patient_id, "providerId": provider, "typeId": type_id, "start": start});
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.graphql(Some(clinic.token(FrontDesk)), BOOK, json!({ "i": input }))
        .await
}

#[tokio::test]
async fn concurrent_bookings_of_one_room_by_different_providers_leave_one_and_name_the_room() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let exam = app.create_room(&clinic, "Exam 1", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let mut providers = vec![clinic.user(Provider)];
    for index in 0..5 {
        providers.push(
            app.create_provider(&clinic, &format!("dr{index}"), ALL_DAY_EVERY_DAY.clone())
                .await,
        );
    }

    let attempts = providers.iter().map(|provider| {
        let (app, clinic, physical, exam) = (&app, &clinic, &physical, &exam);
        async move {
            book(
                app,
                clinic,
                (*provider, physical),
                "2031-01-06T09:00:00Z",
                json!({"roomId": exam}),
            )
            .await
        }
    });
    let responses = futures::future::join_all(attempts).await;

    let booked: Vec<_> = responses.iter().filter(|r| r.errors().is_empty()).collect();
    assert_eq!(booked.len(), 1, "one booking holds the room: {responses:?}");
    assert_eq!(booked[0].ok()["bookAppointment"]["roomId"], exam.as_str());
    for refused in responses.iter().filter(|r| !r.errors().is_empty()) {
        assert_eq!(refused.code(), "CONFLICT", "{refused:?}");
        let message = refused.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("room \"Exam 1\"") && message.contains(&exam),
            "the refusal names the room: {message}"
        );
    }
    let in_the_room = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            "{ appointments(from: \"2031-01-06T00:00:00Z\", to: \"2031-01-07T00:00:00Z\") { edges { node { roomId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        in_the_room.ok()["appointments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing else was written"
    );
}

#[tokio::test]
async fn a_type_needing_a_room_takes_the_first_free_room_of_its_kind_until_none_is_left() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    // Created out of order: the pick goes by name, and a room of another kind is never taken.
    let second = app.create_room(&clinic, "Exam B", Some("exam")).await;
    let first = app.create_room(&clinic, "Exam A", Some("Exam")).await;
    app.create_room(&clinic, "X-ray", Some("Imaging")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "EXAM").await;
    let others = [
        app.create_provider(&clinic, "drb", ALL_DAY_EVERY_DAY.clone())
            .await,
        app.create_provider(&clinic, "drc", ALL_DAY_EVERY_DAY.clone())
            .await,
    ];

    let at_nine = "2031-01-06T09:00:00Z";
    let one = book(
        &app,
        &clinic,
        (clinic.user(Provider), &physical),
        at_nine,
        json!({}),
    )
    .await;
    assert_eq!(one.ok()["bookAppointment"]["roomId"], first.as_str());
    assert_eq!(
        one.ok()["bookAppointment"]["room"],
        json!({"name": "Exam A", "kind": "Exam"})
    );
    let two = book(&app, &clinic, (others[0], &physical), at_nine, json!({})).await;
    assert_eq!(two.ok()["bookAppointment"]["roomId"], second.as_str());

    let three = book(&app, &clinic, (others[1], &physical), at_nine, json!({})).await;
    assert_eq!(three.code(), "CONFLICT");
    let message = three.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("every room of kind \"EXAM\"")
            && message.contains("Exam A")
            && message.contains("Exam B"),
        "{message}"
    );
    // When the first visits end, Exam A is free again.
    let later = book(
        &app,
        &clinic,
        (others[1], &physical),
        "2031-01-06T10:00:00Z",
        json!({}),
    )
    .await;
    assert_eq!(later.ok()["bookAppointment"]["roomId"], first.as_str());

    // A type that needs no room books none, unless one is named.
    let plain = book(
        &app,
        &clinic,
        (others[1], &clinic.type_id.to_string()),
        "2031-01-06T12:00:00Z",
        json!({}),
    )
    .await;
    assert_eq!(plain.ok()["bookAppointment"]["roomId"], Value::Null);
    let named = book(
        &app,
        &clinic,
        (others[0], &clinic.type_id.to_string()),
        "2031-01-06T12:00:00Z",
        json!({"roomId": second}),
    )
    .await;
    assert_eq!(named.ok()["bookAppointment"]["roomId"], second.as_str());
}

#[tokio::test]
async fn a_clinic_without_a_room_of_the_kind_refuses_the_booking_and_offers_no_slot() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    app.create_room(&clinic, "Exam 1", Some("Exam")).await;
    let scan = app.create_type_needing_room(&clinic, 60, "MRI").await;

    let refused = book(
        &app,
        &clinic,
        (clinic.user(Provider), &scan),
        "2031-01-06T09:00:00Z",
        json!({}),
    )
    .await;
    assert_eq!(refused.code(), "CONFLICT");
    assert!(
        refused.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("no room of kind \"MRI\""),
        "{refused:?}"
    );
    assert!(
        app.available_slots(&clinic, clinic.user(Provider), MONDAY, &scan)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_named_room_must_be_of_the_kind_the_type_needs_and_of_the_clinic() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let xray = app.create_room(&clinic, "X-ray", Some("Imaging")).await;
    let theirs = app.create_room(&other, "Exam 1", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let before = app.footprint(&clinic).await;

    let wrong_kind = book(
        &app,
        &clinic,
        (clinic.user(Provider), &physical),
        "2031-01-06T09:00:00Z",
        json!({"roomId": xray}),
    )
    .await;
    assert_eq!(wrong_kind.code(), "BAD_USER_INPUT");
    assert_eq!(wrong_kind.field(), "input.roomId");
    let another_clinics = book(
        &app,
        &clinic,
        (clinic.user(Provider), &clinic.type_id.to_string()),
        "2031-01-06T09:00:00Z",
        json!({"roomId": theirs}),
    )
    .await;
    assert_eq!(another_clinics.code(), "NOT_FOUND");
    assert!(
        !another_clinics.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("Exam 1"),
        "nothing of the other clinic's room is told"
    );
    assert_eq!(app.footprint(&clinic).await, before, "nothing was written");
}

#[tokio::test]
async fn available_slots_offer_only_times_when_the_provider_and_a_suitable_room_are_free() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let exam = app.create_room(&clinic, "Exam 1", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let colleague = app
        .create_provider(&clinic, "drb", ALL_DAY_EVERY_DAY.clone())
        .await;
    app.set_working_hours(
        &clinic,
        clinic.user(Provider),
        json!([{"day": "MONDAY", "start": "09:00:00", "end": "12:00:00"}]),
    )
    .await;
    let free_before = app
        .available_slots(&clinic, clinic.user(Provider), MONDAY, &physical)
        .await;
    assert_eq!(
        free_before.len(),
        9,
        "09:00 to 11:00 every 15 minutes: {free_before:?}"
    );

    // The colleague's visit holds the only Exam room from 10:00 to 11:00; the provider is free.
    book(
        &app,
        &clinic,
        (colleague, &physical),
        "2031-01-06T10:00:00Z",
        json!({"roomId": exam}),
    )
    .await
    .ok();

    let free = app
        .available_slots(&clinic, clinic.user(Provider), MONDAY, &physical)
        .await;
    assert_eq!(
        free,
        ["2031-01-06T09:00:00+00:00", "2031-01-06T11:00:00+00:00"],
        "only hours in which the room is free too"
    );
    // A visit needing no room is offered all morning.
    let plain = app
        .available_slots(&clinic, clinic.user(Provider), MONDAY, clinic.type_id)
        .await;
    assert_eq!(plain.len(), 11);
    // What is offered can be booked, and takes the room.
    let booked = book(
        &app,
        &clinic,
        (clinic.user(Provider), &physical),
        &free[1],
        json!({}),
    )
    .await;
    assert_eq!(booked.ok()["bookAppointment"]["roomId"], exam.as_str());
}

#[tokio::test]
async fn a_move_keeps_the_room_when_free_else_takes_another_of_the_kind_else_names_the_room() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let first = app.create_room(&clinic, "Exam A", Some("Exam")).await;
    let second = app.create_room(&clinic, "Exam B", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let colleague = app
        .create_provider(&clinic, "drb", ALL_DAY_EVERY_DAY.clone())
        .await;
    let third = app
        .create_provider(&clinic, "drc", ALL_DAY_EVERY_DAY.clone())
        .await;
    let ours = book(
        &app,
        &clinic,
        (clinic.user(Provider), &physical),
        "2031-01-06T09:00:00Z",
        json!({}),
    )
    .await;
    let ours = ours.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    book(
        &app,
        &clinic,
        (colleague, &physical),
        "2031-01-06T11:00:00Z",
        json!({"roomId": first}),
    )
    .await
    .ok();
    const MOVE: &str = "mutation($id: UUID!, $v: Int!, $s: DateTime!) {
        rescheduleAppointment(input: {id: $id, expectedVersion: $v, start: $s}) { version roomId } }";
    let move_to = |version: i64, start: &'static str| {
        let ours = ours.clone();
        let app = &app;
        let clinic = &clinic;
        async move {
            app.graphql(
                Some(clinic.token(FrontDesk)),
                MOVE,
                json!({"id": ours, "v": version, "s": start}),
            )
            .await
        }
    };

    let kept = move_to(1, "2031-01-06T10:00:00Z").await;
    assert_eq!(kept.ok()["rescheduleAppointment"]["roomId"], first.as_str());
    let other_room = move_to(2, "2031-01-06T11:00:00Z").await;
    assert_eq!(
        other_room.ok()["rescheduleAppointment"]["roomId"],
        second.as_str(),
        "Exam A is the colleague's at 11:00"
    );
    book(
        &app,
        &clinic,
        (third, &physical),
        "2031-01-06T14:00:00Z",
        json!({"roomId": second}),
    )
    .await
    .ok();
    book(
        &app,
        &clinic,
        (colleague, &physical),
        "2031-01-06T14:00:00Z",
        json!({"roomId": first}),
    )
    .await
    .ok();
    let refused = move_to(3, "2031-01-06T14:00:00Z").await;
    assert_eq!(refused.code(), "CONFLICT");
    let message = refused.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("room \"Exam B\"") && message.contains("is already booked"),
        "both rooms are taken at 14:00, so the one it holds is named: {message}"
    );
}

#[tokio::test]
async fn a_series_takes_a_room_for_each_occurrence_and_lists_every_occurrence_without_one() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let exam = app.create_room(&clinic, "Exam 1", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let colleague = app
        .create_provider(&clinic, "drb", ALL_DAY_EVERY_DAY.clone())
        .await;
    // The colleague holds the room on the 2nd and 4th Mondays.
    for start in ["2031-01-13T09:00:00Z", "2031-01-27T09:00:00Z"] {
        book(
            &app,
            &clinic,
            (colleague, &physical),
            start,
            json!({"roomId": exam}),
        )
        .await
        .ok();
    }
    const SERIES: &str = "mutation($i: BookSeriesInput!) {
        bookSeries(input: $i) { appointments { roomId } } }";
    let input = json!({"patientId": clinic.patient_id, "providerId": clinic.user(Provider),
        "typeId": physical, "firstStart": "2031-01-06T09:00:00Z",
        "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": 6}});
    let before = app.footprint(&clinic).await;

    let refused = app
        .graphql(Some(clinic.token(FrontDesk)), SERIES, json!({ "i": input }))
        .await;
    assert_eq!(refused.code(), "CONFLICT");
    let conflicts = refused.errors()[0]["extensions"]["conflicts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert!(
        conflicts[0]
            .as_str()
            .unwrap()
            .starts_with("2031-01-13 09:00:00 UTC")
    );
    assert!(
        conflicts[1]
            .as_str()
            .unwrap()
            .starts_with("2031-01-27 09:00:00 UTC")
    );
    assert_eq!(app.footprint(&clinic).await, before, "nothing was written");

    let mut at_ten = input.clone();
    at_ten["firstStart"] = json!("2031-01-06T10:00:00Z");
    let booked = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            SERIES,
            json!({ "i": at_ten }),
        )
        .await;
    let rooms: Vec<_> = booked.ok()["bookSeries"]["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|occurrence| occurrence["roomId"].clone())
        .collect();
    assert_eq!(rooms, vec![json!(exam); 6]);
}

#[tokio::test]
async fn rooms_are_kept_by_the_clinic_admin_and_one_with_upcoming_visits_stays() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(ClinicAdmin);
    let exam = app.create_room(&clinic, "Exam 1", Some("Exam")).await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;

    let duplicate = app
        .graphql(
            Some(admin),
            "mutation { createRoom(input: {name: \" exam 1 \"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(duplicate.code(), "CONFLICT");
    assert_eq!(duplicate.field(), "input.name");

    let other = app.create_room(&clinic, "Exam 2", Some("Exam")).await;
    let clashing_rename = app
        .graphql(
            Some(admin),
            "mutation($id: UUID!) { updateRoom(input: {id: $id, name: \"EXAM 2\"}) { name } }",
            json!({"id": exam}),
        )
        .await;
    assert_eq!(clashing_rename.code(), "CONFLICT");
    assert_eq!(clashing_rename.field(), "input.name");

    let renamed = app
        .graphql(
            Some(admin),
            "mutation($id: UUID!) { updateRoom(input: {id: $id, name: \"Exam North\"}) { name kind } }",
            json!({"id": exam}),
        )
        .await;
    assert_eq!(
        renamed.ok()["updateRoom"],
        json!({"name": "Exam North", "kind": "Exam"})
    );

    let booked = book(
        &app,
        &clinic,
        (clinic.user(Provider), &physical),
        "2031-01-06T09:00:00Z",
        json!({"roomId": exam}),
    )
    .await;
    let visit = booked.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const REMOVE: &str = "mutation($id: UUID!) { removeRoom(id: $id) }";
    let kept = app.graphql(Some(admin), REMOVE, json!({"id": exam})).await;
    assert_eq!(kept.code(), "CONFLICT");
    assert!(
        kept.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains(&visit)
    );

    app.graphql(
        Some(clinic.token(FrontDesk)),
        "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Moved away\") { id } }",
        json!({"id": visit}),
    )
    .await
    .ok();
    let removed = app.graphql(Some(admin), REMOVE, json!({"id": exam})).await;
    assert_eq!(removed.ok()["removeRoom"], exam.as_str());
    let listed = app
        .graphql(Some(clinic.token(FrontDesk)), "{ rooms { id } }", json!({}))
        .await;
    assert_eq!(
        listed.ok()["rooms"],
        json!([{"id": other}]),
        "the removed room is not listed"
    );
    // The cancelled visit still names the room it was in.
    let history = app
        .graphql(
            Some(clinic.token(FrontDesk)),
            "query($id: UUID!) { appointment(id: $id) { room { name removed } } }",
            json!({"id": visit}),
        )
        .await;
    assert_eq!(
        history.ok()["appointment"]["room"],
        json!({"name": "Exam North", "removed": true})
    );
    // And the kind is cleared with null.
    let cleared = app
        .graphql(
            Some(admin),
            "mutation($id: UUID!) { updateAppointmentType(input: {id: $id, roomKind: null}) { roomKind } }",
            json!({"id": physical}),
        )
        .await;
    assert_eq!(
        cleared.ok()["updateAppointmentType"]["roomKind"],
        Value::Null
    );
}

/// A series writes its series row before its occurrences: were its schedule locks taken after
/// that first write (which takes the clinic's audit-chain lock), a room booking of another
/// provider, holding the rooms' lock and waiting for the audit chain, would deadlock with it.
#[tokio::test]
async fn series_and_single_room_bookings_of_different_providers_at_once_all_succeed() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for name in ["Exam 1", "Exam 2", "Exam 3", "Exam 4"] {
        app.create_room(&clinic, name, Some("Exam")).await;
    }
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    let mut others = Vec::new();
    for index in 0..3 {
        others.push(
            app.create_provider(&clinic, &format!("dr{index}"), ALL_DAY_EVERY_DAY.clone())
                .await,
        );
    }
    const SERIES: &str = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId } }";
    let series = |first_start: &'static str| {
        let (app, clinic, physical) = (&app, &clinic, &physical);
        async move {
            let input = json!({"patientId": clinic.patient_id, "providerId": clinic.user(Provider),
                "typeId": physical, "firstStart": first_start,
                "rule": {"everyWeeks": 1, "days": ["MONDAY"], "count": 8}});
            app.graphql(Some(clinic.token(FrontDesk)), SERIES, json!({ "i": input }))
                .await
        }
    };
    let single = |who: Uuid, start: String| {
        let (app, clinic, physical) = (&app, &clinic, &physical);
        async move { book(app, clinic, (who, physical), &start, json!({})).await }
    };
    for round in 0..3 {
        let mut attempts = vec![futures::future::Either::Left(series(
            [
                "2031-01-06T08:00:00Z",
                "2031-01-06T12:00:00Z",
                "2031-01-06T15:00:00Z",
            ][round],
        ))];
        for (index, other) in others.iter().enumerate() {
            let start = format!("2031-01-{:02}T{:02}:00:00Z", 6 + 7 * index, 8 + 4 * round);
            attempts.push(futures::future::Either::Right(single(*other, start)));
        }
        for response in futures::future::join_all(attempts).await {
            assert!(response.errors().is_empty(), "round {round}: {response:?}");
        }
    }
}

/// Removing a room and booking it at once: whichever commits first, no upcoming visit is left in
/// a removed room.
#[tokio::test]
async fn a_room_removed_while_it_is_booked_holds_no_upcoming_visit() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let physical = app.create_type_needing_room(&clinic, 60, "Exam").await;
    for round in 0..5 {
        let exam = app
            .create_room(&clinic, &format!("Exam {round}"), Some("Exam"))
            .await;
        let start = format!("2031-01-06T{:02}:00:00Z", 8 + round);
        let (booked, removed) = futures::future::join(
            book(
                &app,
                &clinic,
                (clinic.user(Provider), &physical),
                &start,
                json!({"roomId": exam}),
            ),
            app.graphql(
                Some(clinic.token(ClinicAdmin)),
                "mutation($id: UUID!) { removeRoom(id: $id) }",
                json!({"id": exam}),
            ),
        )
        .await;
        let visit_stands = booked.errors().is_empty();
        let room_gone = removed.errors().is_empty();
        assert!(
            visit_stands != room_gone,
            "round {round}: exactly one of them wins: {booked:?} {removed:?}"
        );
        if !visit_stands {
            assert!(
                ["NOT_FOUND", "CONFLICT"].contains(&booked.code().as_str()),
                "{booked:?}"
            );
        }
    }
}
