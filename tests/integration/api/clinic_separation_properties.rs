//! A property of the whole API, tried on random histories: two clinics' users register, rename
//! and remove patients, book and cancel appointments, and reach for the other clinic's records;
//! after every step each clinic sees exactly what a model of its own history says (the other
//! clinic's attempts change nothing), and never an id of the other clinic.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use hpms::foundation::role::Role;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp};

#[derive(Clone, Debug)]
enum Step {
    Register {
        clinic: usize,
    },
    Rename {
        clinic: usize,
        pick: usize,
    },
    Remove {
        clinic: usize,
        pick: usize,
    },
    Book {
        clinic: usize,
        pick: usize,
        hour: u32,
    },
    Cancel {
        clinic: usize,
        pick: usize,
    },
    /// The clinic's admin names one of the other clinic's records.
    Intrude {
        clinic: usize,
        pick: usize,
        how: Intrusion,
    },
}

#[derive(Clone, Copy, Debug)]
enum Intrusion {
    ReadPatient,
    RenamePatient,
    RemovePatient,
    BookPatient,
    CancelAppointment,
}

fn step() -> impl Strategy<Value = Step> {
    let clinic = 0..2usize;
    let pick = 0..8usize;
    let intrusion = prop_oneof![
        Just(Intrusion::ReadPatient),
        Just(Intrusion::RenamePatient),
        Just(Intrusion::RemovePatient),
        Just(Intrusion::BookPatient),
        Just(Intrusion::CancelAppointment),
    ];
    prop_oneof![
        clinic.clone().prop_map(|clinic| Step::Register { clinic }),
        (clinic.clone(), pick.clone()).prop_map(|(clinic, pick)| Step::Rename { clinic, pick }),
        (clinic.clone(), pick.clone()).prop_map(|(clinic, pick)| Step::Remove { clinic, pick }),
        (clinic.clone(), pick.clone(), 8..12u32).prop_map(|(clinic, pick, hour)| Step::Book {
            clinic,
            pick,
            hour
        }),
        (clinic.clone(), pick.clone()).prop_map(|(clinic, pick)| Step::Cancel { clinic, pick }),
        (clinic, pick, intrusion).prop_map(|(clinic, pick, how)| Step::Intrude {
            clinic,
            pick,
            how
        }),
    ]
}

/// What one clinic should see.
#[derive(Default)]
struct Model {
    /// Live patients and their last names.
    patients: BTreeMap<Uuid, String>,
    /// Appointments: (start hour, cancelled, version).
    appointments: BTreeMap<Uuid, (u32, bool, i64)>,
    /// Patients removed: the other clinic must never see these either.
    removed: BTreeSet<Uuid>,
}

impl Model {
    fn patient(&self, pick: usize) -> Option<Uuid> {
        self.patients
            .keys()
            .nth(pick % self.patients.len().max(1))
            .copied()
    }

    fn scheduled(&self, pick: usize) -> Option<(Uuid, i64)> {
        let live: Vec<_> = (self.appointments.iter())
            .filter(|(_, (_, cancelled, _))| !cancelled)
            .map(|(id, (_, _, version))| (*id, *version))
            .collect();
        live.get(pick % live.len().max(1)).copied()
    }

    fn hour_taken(&self, hour: u32) -> bool {
        (self.appointments.values()).any(|(taken, cancelled, _)| *taken == hour && !cancelled)
    }
}

struct Clinic {
    api: ApiClinic,
    model: Model,
}

const SEE: &str = "{ patients(first: 100) { edges { node { id lastName } } }
  appointments(first: 100) { edges { node { id status version start patient { id } } } } }";
const RENAME: &str = "mutation($id: UUID!, $name: String!) { updatePatient(input: {id: $id, lastName: $name}) { id } }";
const BOOK: &str =
    "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id version } }";
const CANCEL: &str = "mutation($id: UUID!, $v: Int!) { cancelAppointment(id: $id, expectedVersion: $v, reason: \"moved away\") { version } }";

fn start(hour: u32) -> String {
    format!("2030-01-07T{hour:02}:00:00Z")
}

async fn run(app: &TestApp, case: usize, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut clinics = Vec::new();
    for side in ["a", "b"] {
        let api = app.clinic(&format!("prop-{side}-{case}")).await;
        let mut model = Model::default();
        model.patients.insert(api.patient_id, "Lovelace".to_owned());
        clinics.push(Clinic { api, model });
    }
    let mut counter = 0;
    for step in steps {
        counter += 1;
        apply(app, &mut clinics, step, counter).await?;
        for index in 0..2 {
            let other = &clinics[1 - index];
            check(app, &clinics[index], other).await?;
        }
    }
    Ok(())
}

async fn apply(
    app: &TestApp,
    clinics: &mut [Clinic],
    step: &Step,
    counter: usize,
) -> Result<(), TestCaseError> {
    let clinic_index = match step {
        Step::Register { clinic }
        | Step::Rename { clinic, .. }
        | Step::Remove { clinic, .. }
        | Step::Book { clinic, .. }
        | Step::Cancel { clinic, .. }
        | Step::Intrude { clinic, .. } => *clinic,
    };
    let (mine, theirs) = if clinic_index == 0 {
        let (a, b) = clinics.split_at_mut(1);
        (&mut a[0], &b[0])
    } else {
        let (a, b) = clinics.split_at_mut(1);
        (&mut b[0], &a[0])
    };
    let admin = Some(mine.api.token(Role::ClinicAdmin));
    let ask = |query: &'static str, variables: Value| app.graphql(admin, query, variables);
    match *step {
        Step::Register { .. } => {
            let name = format!("Patient{counter}");
            let id = app.create_patient(&mine.api, "Random", &name).await;
            mine.model.patients.insert(id, name);
        }
        Step::Rename { pick, .. } => {
            if let Some(id) = mine.model.patient(pick) {
                let name = format!("Renamed{counter}");
                ask(RENAME, json!({"id": id, "name": name})).await.ok();
                mine.model.patients.insert(id, name);
            }
        }
        Step::Remove { pick, .. } => {
            if let Some(id) = mine.model.patient(pick) {
                ask(
                    "mutation($id: UUID!) { deletePatient(id: $id) }",
                    json!({"id": id}),
                )
                .await
                .ok();
                mine.model.patients.remove(&id);
                mine.model.removed.insert(id);
            }
        }
        Step::Book { pick, hour, .. } => {
            let Some(patient) = mine.model.patient(pick) else {
                return Ok(());
            };
            let booked = ask(BOOK, booking(&mine.api, patient, hour)).await;
            if mine.model.hour_taken(hour) {
                prop_assert_eq!(booked.code(), "CONFLICT");
            } else {
                let id = uuid(&booked.ok()["bookAppointment"]["id"]);
                mine.model.appointments.insert(id, (hour, false, 1));
            }
        }
        Step::Cancel { pick, .. } => {
            if let Some((id, version)) = mine.model.scheduled(pick) {
                let cancelled = ask(CANCEL, json!({"id": id, "v": version})).await;
                let version = cancelled.ok()["cancelAppointment"]["version"]
                    .as_i64()
                    .unwrap();
                let entry = mine.model.appointments.get_mut(&id).unwrap();
                *entry = (entry.0, true, version);
            }
        }
        Step::Intrude { pick, how, .. } => {
            let patient = theirs.model.patient(pick);
            let appointment = theirs.model.scheduled(pick);
            // What the intrusion sends, naming the other clinic's record (if it has one).
            let request = match how {
                Intrusion::ReadPatient => patient.map(|id| {
                    (
                        "query($id: UUID!) { patient(id: $id) { id } }",
                        json!({"id": id}),
                    )
                }),
                Intrusion::RenamePatient => {
                    patient.map(|id| (RENAME, json!({"id": id, "name": "Taken"})))
                }
                Intrusion::RemovePatient => patient.map(|id| {
                    (
                        "mutation($id: UUID!) { deletePatient(id: $id) }",
                        json!({"id": id}),
                    )
                }),
                Intrusion::BookPatient => patient.map(|id| (BOOK, booking(&mine.api, id, 13))),
                Intrusion::CancelAppointment => {
                    appointment.map(|(id, version)| (CANCEL, json!({"id": id, "v": version})))
                }
            };
            let attempt = match request {
                Some((query, variables)) => Some(ask(query, variables).await),
                None => None,
            };
            if let Some(attempt) = attempt {
                prop_assert_eq!(attempt.code(), "NOT_FOUND", "{:?} {:?}", how, attempt.0);
            }
        }
    }
    Ok(())
}

fn booking(clinic: &ApiClinic, patient: Uuid, hour: u32) -> Value {
    json!({"i": {"patientId": patient, "providerId": clinic.user(Role::Provider),
                 "typeId": clinic.type_id, "start": start(hour)}})
}

fn uuid(value: &Value) -> Uuid {
    value.as_str().unwrap().parse().unwrap()
}

/// What `clinic` sees is its model, and nothing of `other`'s.
async fn check(app: &TestApp, clinic: &Clinic, other: &Clinic) -> Result<(), TestCaseError> {
    let seen = app
        .graphql(Some(clinic.api.token(Role::ClinicAdmin)), SEE, json!({}))
        .await;
    let data = seen.ok();
    let patients: BTreeMap<Uuid, String> = (data["patients"]["edges"].as_array().unwrap())
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                uuid(&node["id"]),
                node["lastName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    prop_assert_eq!(&patients, &clinic.model.patients);
    let appointments: BTreeMap<Uuid, (u32, bool, i64)> =
        (data["appointments"]["edges"].as_array().unwrap())
            .iter()
            .map(|edge| {
                let node = &edge["node"];
                let hour = node["start"].as_str().unwrap()[11..13].parse().unwrap();
                let cancelled = node["status"] == "CANCELLED";
                (
                    uuid(&node["id"]),
                    (hour, cancelled, node["version"].as_i64().unwrap()),
                )
            })
            .collect();
    prop_assert_eq!(&appointments, &clinic.model.appointments);

    let foreign: BTreeSet<Uuid> = (other.model.patients.keys())
        .chain(other.model.appointments.keys())
        .chain(other.model.removed.iter())
        .copied()
        .collect();
    let text = data.to_string();
    for id in foreign {
        prop_assert!(
            !text.contains(&id.to_string()),
            "saw the other clinic's {id}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_clinic_sees_exactly_its_own_history_whatever_the_other_does() {
    let app = TestApp::spawn().await;
    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let case = Cell::new(0);
    let result = runner.run(&proptest::collection::vec(step(), 1..16), |steps| {
        case.set(case.get() + 1);
        tokio::task::block_in_place(|| runtime.block_on(run(&app, case.get(), &steps)))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
