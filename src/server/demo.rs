//! `hpms seed-demo`: two clinics to explore in GraphiQL, each with one user per role, a
//! provider working 08:00–17:00 on weekdays (UTC clinics), patients (with encrypted PHI),
//! appointment types and a week of appointments. Every clinic's
//! data is written by its own ClinicAdmin, so the audit log reads like a real clinic's.
//! Clinics that already exist are left alone, so the command is safe to repeat.

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::foundation::access::Principal;
use crate::foundation::db::{self, TenantScope};
use crate::foundation::role::Role;
use crate::identity::{DayOfWeek, WorkingHours, stored_week};
use crate::identity::{password, store as identity_store};
use crate::patients::{Contact, Medical, NewPatient, PhiDocument, PhiKeyring, insert_patient};
use crate::scheduling::{self, BookingRequest, BookingWindow};

/// The password of every demo user. Printed by `make run`; never use outside a demo.
pub const DEMO_PASSWORD: &str = "demo-password-123";

/// (slug, clinic name)
pub const DEMO_CLINICS: [(&str, &str); 2] = [
    ("northside", "Northside Family Practice"),
    ("riverside", "Riverside Pediatrics"),
];

/// (username, role) of each clinic's users.
pub const DEMO_USERS: [(&str, Role); 4] = [
    ("admin", Role::ClinicAdmin),
    ("provider", Role::Provider),
    ("billing", Role::BillingManager),
    ("frontdesk", Role::FrontDesk),
];

/// (first name, last name, year of birth, allergies)
const DEMO_PATIENTS: [(&str, &str, i32, &str); 10] = [
    ("Ada", "Lovelace", 1985, "penicillin"),
    ("José", "Álvarez", 1972, ""),
    ("Zoë", "Müller", 2015, "peanuts"),
    ("Grace", "Hopper", 1990, ""),
    ("Alan", "Turing", 1968, "latex"),
    ("Chloé", "Dubois", 2001, ""),
    ("Søren", "Kierkegaard", 1979, ""),
    ("Mary", "Jackson", 1994, "sulfa drugs"),
    ("Katherine", "Johnson", 1960, ""),
    ("Björn", "Åström", 2010, "bee stings"),
];

/// (name, minutes, price)
/// Name, minutes, price and the kind of room a visit needs.
const DEMO_APPOINTMENT_TYPES: [(&str, i32, &str, Option<&str>); 3] = [
    ("Consultation", 30, "80.00", None),
    ("Follow-up", 15, "45.00", None),
    ("Annual physical", 60, "150.00", Some("Exam")),
];

/// The rooms of each demo clinic: name and kind.
const DEMO_ROOMS: [(&str, &str); 3] = [
    ("Exam 1", "Exam"),
    ("Exam 2", "Exam"),
    ("Treatment", "Treatment"),
];

/// Seeds the demo clinics; returns the slugs it created.
pub async fn seed(pool: &DatabaseConnection, phi: &PhiKeyring) -> anyhow::Result<Vec<String>> {
    let password_hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let mut created = Vec::new();
    for (slug, name) in DEMO_CLINICS {
        if clinic_exists(pool, slug).await? {
            continue;
        }
        seed_clinic(pool, phi, slug, name, &password_hash).await?;
        created.push(slug.to_owned());
    }
    Ok(created)
}

async fn clinic_exists(pool: &DatabaseConnection, slug: &str) -> anyhow::Result<bool> {
    let tx = db::begin_tenant_transaction(pool, &TenantScope::platform_work(Uuid::nil())).await?;
    let exists = identity_store::find_tenant_by_slug(&tx, slug)
        .await?
        .is_some();
    tx.rollback().await?;
    Ok(exists)
}

async fn seed_clinic(
    pool: &DatabaseConnection,
    phi: &PhiKeyring,
    slug: &str,
    name: &str,
    password_hash: &str,
) -> anyhow::Result<()> {
    let tenant_id = Uuid::new_v4();
    let admin_id = Uuid::new_v4();
    let onboarding =
        db::begin_tenant_transaction(pool, &TenantScope::platform_work(tenant_id)).await?;
    identity_store::insert_tenant(&onboarding, tenant_id, name, slug, false).await?;
    identity_store::insert_user(
        &onboarding,
        tenant_id,
        admin_id,
        "admin",
        password_hash.to_owned(),
        Role::ClinicAdmin,
    )
    .await?;
    onboarding.commit().await?;

    let admin = Principal::user(tenant_id, admin_id, Role::ClinicAdmin);
    let tx = db::begin_tenant_transaction(pool, &admin.scope()).await?;
    let mut provider_id = admin_id;
    for (username, role) in DEMO_USERS.into_iter().skip(1) {
        let id = Uuid::new_v4();
        identity_store::insert_user(&tx, tenant_id, id, username, password_hash.to_owned(), role)
            .await?;
        if role == Role::Provider {
            provider_id = id;
        }
    }
    let weekdays = [
        DayOfWeek::Monday,
        DayOfWeek::Tuesday,
        DayOfWeek::Wednesday,
        DayOfWeek::Thursday,
        DayOfWeek::Friday,
    ];
    let office_hours: Vec<WorkingHours> = weekdays
        .into_iter()
        .map(|day| WorkingHours {
            day,
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
        })
        .collect();
    identity_store::set_working_hours(&tx, tenant_id, provider_id, stored_week(&office_hours)?)
        .await?;

    let mut patient_ids = Vec::new();
    for (index, (first, last, year, allergies)) in DEMO_PATIENTS.into_iter().enumerate() {
        let id = Uuid::new_v4();
        let document = PhiDocument {
            contact: Contact {
                phone: Some(format!("+1 555 01{index:02}")),
                email: Some(format!("patient{}@example.org", index + 1)),
                address: Some(format!("{} Main Street, Springfield", 10 + index)),
            },
            medical: Medical {
                allergies: (!allergies.is_empty()).then(|| allergies.to_owned()),
                medications: None,
                notes: Some(format!("Demo patient {} of {name}.", index + 1)),
            },
        };
        let phi_data = phi.seal_document(tenant_id, id, &document)?;
        insert_patient(
            &tx,
            NewPatient {
                tenant_id,
                id,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                dob: NaiveDate::from_ymd_opt(year, (index % 12 + 1) as u32, 10).unwrap_or_default(),
                phi_data,
            },
        )
        .await?;
        patient_ids.push(id);
    }

    let mut type_ids = Vec::new();
    for (type_name, minutes, price, room_kind) in DEMO_APPOINTMENT_TYPES {
        let price = price
            .parse::<rust_decimal::Decimal>()
            .context("a demo price is a decimal")?;
        let room_kind = room_kind.map(str::to_owned);
        let kind = scheduling::insert_type(
            &tx,
            tenant_id,
            type_name.to_owned(),
            minutes,
            price,
            room_kind,
        )
        .await?;
        type_ids.push(kind.id);
    }
    for (name, kind) in DEMO_ROOMS {
        let room = scheduling::NewRoom {
            name: name.to_owned(),
            kind: Some(kind.to_owned()),
        };
        scheduling::insert_room(&tx, room).await?;
    }

    // A week of weekday mornings from today, booked the way the front desk books: a Consultation
    // every hour from 09:00 UTC, inside the provider's hours (the demo clinics keep UTC).
    let mut day = Utc::now().date_naive();
    let mut booked = 0;
    for _ in 0..7 {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            for hour in 9..12 {
                let request = BookingRequest {
                    patient_id: patient_ids[booked % patient_ids.len()],
                    provider_id,
                    type_id: type_ids[0],
                    start: day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc(),
                    end: None,
                    override_working_hours: false,
                    override_time_off: false,
                    // Today's mornings may be over by the time the demo is loaded.
                    backdate: true,
                    override_reason: Some("Demo data".to_owned()),
                    waitlist_entry_id: None,
                    room_id: None,
                };
                let window = BookingWindow::with_horizon_days(BookingWindow::DEFAULT_HORIZON_DAYS);
                scheduling::book(&tx, &admin, window, request)
                    .await
                    .map_err(anyhow::Error::from)
                    .context("booking a demo appointment")?;
                booked += 1;
            }
        }
        day += Duration::days(1);
    }
    tx.commit().await?;
    Ok(())
}
