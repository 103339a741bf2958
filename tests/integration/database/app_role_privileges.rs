//! The application role can do only what the server needs: it deletes nothing, truncates
//! nothing, cannot change the schema or its policies, cannot become the owner, and has no function
//! or view that reads past row-level security.

use sea_orm::ConnectionTrait;

use crate::helpers::{
    Actor, TestDb, assert_sqlstate, exec, scalar, set_status, violated_constraint,
};

async fn public_tables(db: &TestDb) -> Vec<String> {
    scalar(
        &db.app,
        "select array_agg(tablename::text order by tablename) from pg_tables where schemaname = 'public'",
        [],
    )
    .await
}

#[tokio::test]
async fn the_tests_connect_as_an_unprivileged_role_that_owns_nothing() {
    let db = TestDb::new().await;
    let (superuser, bypass_rls): (bool, bool) = (
        scalar(
            &db.app,
            "select rolsuper from pg_roles where rolname = current_user",
            [],
        )
        .await,
        scalar(
            &db.app,
            "select rolbypassrls from pg_roles where rolname = current_user",
            [],
        )
        .await,
    );
    assert!(
        !superuser && !bypass_rls,
        "the application role must be NOSUPERUSER and NOBYPASSRLS"
    );
    let owned: i64 = scalar(
        &db.app,
        "select count(*) from pg_class where relowner = (select oid from pg_roles where rolname = current_user)",
        [],
    )
    .await;
    assert_eq!(
        owned, 0,
        "the application role must own no table, view or sequence"
    );
}

#[tokio::test]
async fn delete_and_truncate_are_denied_on_every_table() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tables = public_tables(&db).await;
    assert!(
        tables.len() >= 13,
        "expected the whole schema, found {tables:?}"
    );

    let statements = tables
        .iter()
        .flat_map(|table| [format!("delete from {table}"), format!("truncate {table}")]);
    db.assert_refused(Actor::App(clinic.admin()), statements)
        .await;
}

#[tokio::test]
async fn ledger_audit_and_event_rows_cannot_be_updated() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    db.assert_refused(
        Actor::App(clinic.admin()),
        [
            "update journal_entries set memo = 'edited'",
            "update ledger_lines set amount = 1",
            "update audit_logs set action = 'Read'",
            "update appointment_events set new_status = 'Completed'",
            "update appointment_event_counters set last_event_id = 0",
        ],
    )
    .await;
}

#[tokio::test]
async fn row_level_security_and_the_schema_cannot_be_altered() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    db.assert_refused(
        Actor::App(clinic.admin()),
        [
            "alter table patients disable row level security",
            "alter table patients no force row level security",
            "drop policy tenant_isolation on patients",
            "create policy everything on patients using (true)",
            "alter table patients drop constraint patients_pkey",
            "drop trigger audit on patients",
            "alter table audit_logs disable trigger append_only",
            "create table public.escape (id int)",
            "create or replace function forbid_change() returns trigger language plpgsql as $$ begin return null; end $$",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_owner_role_cannot_be_assumed() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let owner: String = scalar(&db.owner, "select current_user::text", []).await;

    db.assert_refused(
        Actor::App(clinic.admin()),
        [
            format!("set role {owner}"),
            format!("set session authorization {owner}"),
        ],
    )
    .await;
}

#[tokio::test]
async fn no_function_or_view_reads_past_row_level_security() {
    let db = TestDb::new().await;

    let definer_functions: Option<Vec<String>> = scalar(
        &db.app,
        "select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text)
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname not in ('pg_catalog', 'information_schema')
            and p.prosecdef and has_function_privilege(p.oid, 'execute')",
        [],
    )
    .await;
    assert_eq!(
        definer_functions,
        Some(vec![
            "claim_webhook_endpoints(uuid,interval,integer)".to_owned(),
            "find_api_key(uuid,uuid)".to_owned(),
            "onboard_clinic(uuid,text,text,uuid,text,text)".to_owned(),
            "prune_webhook_deliveries(timestamp with time zone)".to_owned(),
            "reset_clinic_admin(uuid,uuid,text,text,text,text)".to_owned(),
            "sign_in_account(text,text)".to_owned(),
        ]),
        "the SECURITY DEFINER functions the application role may call (record_read runs as its \
         caller, under the policy audit_trail.rs tests, and so does record_security_event); \
         sign_in_account returns an active clinic's id and the sign-in data of its active \
         account of that name only (sign_in.rs tests it); reset_clinic_admin makes one user of \
         a clinic its active ClinicAdmin and records that in the clinic's trail, for \
         SystemAdmins only (account_safeguards.rs tests it); \
         onboard_clinic creates a clinic with its first admin, for SystemAdmins only \
         (platform_roles.rs tests it); find_api_key returns the sealed secret of a live key of \
         an active clinic only (api_keys.rs tests it); claim_webhook_endpoints leases due \
         endpoints of any clinic to the calling instance and returns their ids only, nothing \
         they hold (webhooks.rs tests delivery through it); prune_webhook_deliveries removes \
         old delivery log rows of the transaction's own clinic only; any other would need the \
         same scrutiny"
    );

    let views: Option<Vec<String>> = scalar(
        &db.app,
        "select array_agg(c.oid::regclass::text)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname not in ('pg_catalog', 'information_schema') and c.relkind in ('v', 'm')
            and has_table_privilege(c.oid, 'select')
            and not coalesce('security_invoker=true' = any(c.reloptions), false)",
        [],
    )
    .await;
    assert_eq!(
        views, None,
        "views that run with their owner's rights and are readable by the application role"
    );

    let triggers_called_directly = db.app.execute_unprepared("select audit_row_change()").await;
    assert_sqlstate(
        triggers_called_directly,
        "42501",
        "trigger functions must not be callable",
    );
}

#[tokio::test]
async fn temporary_tables_cannot_stand_in_for_the_audit_log_the_events_or_the_ledger() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    // Temporary tables come first in a session's default search_path: a trigger function that
    // named these tables without their schema would write to (or read from) the decoys.
    for decoy in [
        "audit_logs",
        "appointment_events",
        "appointment_event_counters",
        "ledger_lines",
    ] {
        exec(
            &tx,
            &format!("create temporary table {decoy} (like public.{decoy} including all)"),
            [],
        )
        .await
        .unwrap();
    }
    let audit_before: i64 = scalar(&tx, "select count(*) from public.audit_logs", []).await;
    let appointment: uuid::Uuid = scalar(&tx, "select id from appointments limit 1", []).await;
    set_status(&tx, appointment, "Arrived").await.unwrap();

    let audited: i64 = scalar(&tx, "select count(*) from public.audit_logs", []).await;
    assert!(
        audited > audit_before,
        "the status change must be audited in the real audit log"
    );
    let events: i64 = scalar(&tx, "select count(*) from public.appointment_events", []).await;
    assert_eq!(
        events, 2,
        "the real outbox holds the booking and the status change"
    );
    for decoy in [
        "audit_logs",
        "appointment_events",
        "appointment_event_counters",
    ] {
        assert_eq!(
            scalar::<i64, _>(&tx, &format!("select count(*) from pg_temp.{decoy}"), []).await,
            0,
            "{decoy} decoy written"
        );
    }

    // An unbalanced entry whose decoy lines balance must still fail at commit.
    let invoice: uuid::Uuid = scalar(&tx, "select id from invoices limit 1", []).await;
    let entry: uuid::Uuid = scalar(
        &tx,
        "insert into journal_entries (tenant_id, invoice_id, kind) values ($1, $2, 'WriteOff') returning id",
        [clinic.tenant_id.into(), invoice.into()],
    )
    .await;
    exec(
        &tx,
        "insert into public.ledger_lines (tenant_id, entry_id, account, side, amount) values ($1, $2, 'Cash', 'Debit', 500)",
        [clinic.tenant_id.into(), entry.into()],
    )
    .await
    .unwrap();
    exec(
        &tx,
        "insert into pg_temp.ledger_lines (tenant_id, entry_id, account, side, amount)
         values ($1, $2, 'Cash', 'Debit', 1), ($1, $2, 'AccountsReceivable', 'Credit', 1)",
        [clinic.tenant_id.into(), entry.into()],
    )
    .await
    .unwrap();
    let error = tx
        .commit()
        .await
        .expect_err("the real, unbalanced entry must fail at commit");
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("journal_entry_balanced")
    );
}
