//! Every statement the server sends against a tenant table names the tenant in its SQL: each
//! tenant table it reads, updates or deletes is tied to `tenant_id = $n`, directly or through a
//! join on tenant_id, and each insert into one carries the tenant_id column. Citus routes a
//! statement to one shard only when its SQL filters on the distribution column; row-level
//! security does not prune shards (sql/citus/).
//!
//! `scripts/test.sh` resets pg_stat_statements, runs the whole suite, then this check over what
//! the application role sent. The tests' own SQL opens with `TEST_SQL_MARKER` and is left out:
//! much of it leaves tenant_id to row-level security on purpose. (pg_stat_statements keeps one
//! text per statement shape, so a server statement shaped exactly like a test's could be left
//! out with it; the server builds its SQL with SeaORM and the tests write theirs by hand.)
//! Statements that only call functions touch no table in their SQL and pass; README.md lists
//! the functions that reach tenant tables.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sea_orm::ConnectionTrait;
use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, InTarget, JoinConstraint, JoinOperator, ObjectName, Select,
    Statement, TableFactor, TableObject, TableWithJoins, UpdateTableFromKind, Visit, Visitor,
    visit_expressions,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::helpers::{TENANT_TABLES, TEST_SQL_MARKER, TestDb, scalar, test_statement};

/// Fewer tenant-table statements than this means the statistics were reset after the suite or
/// never collected: the check would pass by seeing nothing.
const FEWEST_EXPECTED: usize = 50;

#[tokio::test]
#[ignore = "scripts/test.sh runs it after the whole suite, over the statements the suite sent"]
async fn every_server_statement_on_a_tenant_table_filters_on_tenant_id() {
    let stats = TestDb::app_on_maintenance_database().await;
    // Each test database has its own entries for the same statements: one of each text will do.
    let recorded = stats
        .query_all_raw(test_statement(
            "select distinct query from pg_stat_statements
              where userid = (select oid from pg_roles where rolname = current_user)",
            [],
        ))
        .await
        .expect(
            "pg_stat_statements is readable in the maintenance database: the private cluster \
             loads it (scripts/devdb.sh); on another server, preload it and create the extension \
             in the postgres database",
        );
    let evicted: i64 = scalar(&stats, "select dealloc from pg_stat_statements_info", []).await;
    assert_eq!(
        evicted, 0,
        "pg_stat_statements dropped entries during the run, unchecked: raise pg_stat_statements.max"
    );
    let tables: HashSet<&str> = TENANT_TABLES.into_iter().collect();
    let mut touched = 0;
    let mut offenders = Vec::new();
    for row in recorded {
        let sql: String = row.try_get_by_index(0).expect("query text");
        if sql.trim_start().starts_with(TEST_SQL_MARKER) {
            continue;
        }
        match check(&sql, &tables) {
            Ok(findings) => {
                touched += findings.touched;
                if !findings.missing.is_empty() {
                    offenders.push(format!(
                        "{}\n    -> {}",
                        sql.trim(),
                        findings.missing.join("; ")
                    ));
                }
            }
            Err(error) => offenders.push(format!("{}\n    -> does not parse: {error}", sql.trim())),
        }
    }
    assert!(
        touched >= FEWEST_EXPECTED,
        "only {touched} uses of tenant tables recorded: run the suite first (scripts/test.sh does)"
    );
    assert!(
        offenders.is_empty(),
        "{} server statements lack an explicit tenant_id predicate:\n\n{}",
        offenders.len(),
        offenders.join("\n\n")
    );
}

/// What one statement does with tenant tables.
#[derive(Debug, Default)]
struct Findings {
    /// Tenant tables read, written or inserted into, counted per occurrence.
    touched: usize,
    /// Each occurrence that does not name its tenant, described.
    missing: Vec<String>,
}

fn check(sql: &str, tenant_tables: &HashSet<&str>) -> Result<Findings, String> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| e.to_string())?;
    let mut checker = Checker {
        tenant_tables,
        findings: Findings::default(),
    };
    let _ = statements.visit(&mut checker);
    Ok(checker.findings)
}

struct Checker<'a> {
    tenant_tables: &'a HashSet<&'a str>,
    findings: Findings,
}

/// The last part of a possibly qualified, possibly quoted name, lower-cased.
fn last_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident.value.to_lowercase())
        .unwrap_or_default()
}

fn is_tenant_id(name: &str) -> bool {
    name.eq_ignore_ascii_case("tenant_id")
}

impl Visitor for Checker<'_> {
    type Break = ();

    // Each SELECT is a scope of its own; its subqueries are visited as scopes too.
    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        self.check_scope(select.from.iter(), select.selection.as_ref());
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        match statement {
            Statement::Insert(insert) => {
                if let TableObject::TableName(name) = &insert.table {
                    let table = last_name(name);
                    if self.tenant_tables.contains(table.as_str()) {
                        self.findings.touched += 1;
                        if !insert.columns.iter().any(|c| is_tenant_id(&last_name(c))) {
                            self.findings
                                .missing
                                .push(format!("insert into {table} without tenant_id"));
                        }
                    }
                }
            }
            Statement::Update(update) => {
                let from = match &update.from {
                    Some(UpdateTableFromKind::BeforeSet(t) | UpdateTableFromKind::AfterSet(t)) => {
                        t.as_slice()
                    }
                    None => &[],
                };
                self.check_scope(
                    std::iter::once(&update.table).chain(from),
                    update.selection.as_ref(),
                );
            }
            Statement::Delete(delete) => {
                let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) =
                    &delete.from;
                let using = delete.using.as_deref().unwrap_or_default();
                self.check_scope(tables.iter().chain(using), delete.selection.as_ref());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// A tenant table named in one scope: the name it goes by there, and the table.
struct Binding {
    name: String,
    table: String,
}

/// One side of an equality, as far as tenant_id is concerned.
enum Side {
    /// The tenant_id of the scope's binding with this index.
    TenantId(usize),
    /// A parameter, constant, or a column of an enclosing scope (checked in its own scope).
    Fixed,
    Other,
}

impl Checker<'_> {
    fn check_scope<'t>(
        &mut self,
        tables: impl Iterator<Item = &'t TableWithJoins>,
        selection: Option<&Expr>,
    ) {
        let mut bindings = Vec::new();
        let mut conditions: Vec<&Expr> = selection.into_iter().collect();
        for table in tables {
            self.bind(table, &mut bindings, &mut conditions);
        }
        if bindings.is_empty() {
            return;
        }
        self.findings.touched += bindings.len();

        // Union-find over the bindings' tenant_ids; the last slot stands for "fixed".
        let fixed = bindings.len();
        let mut parent: Vec<usize> = (0..=fixed).collect();
        fn root(parent: &mut [usize], mut node: usize) -> usize {
            while parent[node] != node {
                parent[node] = parent[parent[node]];
                node = parent[node];
            }
            node
        }
        let mut conjuncts = Vec::new();
        for condition in conditions {
            split_and(condition, &mut conjuncts);
        }
        for conjunct in conjuncts {
            let pair = match conjunct {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } => Some((side(left, &bindings), side(right, &bindings))),
                Expr::In {
                    expr,
                    target: InTarget::List(list),
                    negated: false,
                    ..
                } if list.iter().all(is_fixed) => Some((side(expr, &bindings), Side::Fixed)),
                _ => None,
            };
            let node = |side: Side| match side {
                Side::TenantId(index) => Some(index),
                Side::Fixed => Some(fixed),
                Side::Other => None,
            };
            if let Some((Some(a), Some(b))) = pair.map(|(l, r)| (node(l), node(r))) {
                let (a, b) = (root(&mut parent, a), root(&mut parent, b));
                parent[a] = b;
            }
        }
        let fixed_root = root(&mut parent, fixed);
        for (index, binding) in bindings.iter().enumerate() {
            if root(&mut parent, index) != fixed_root {
                let described = if binding.name == binding.table {
                    binding.table.clone()
                } else {
                    format!("{} {}", binding.table, binding.name)
                };
                self.findings
                    .missing
                    .push(format!("{described}: no tenant_id = $n"));
            }
        }
    }

    /// Collects the tenant tables of one FROM item and the ON conditions of its joins.
    fn bind<'e>(
        &self,
        table: &'e TableWithJoins,
        bindings: &mut Vec<Binding>,
        conditions: &mut Vec<&'e Expr>,
    ) {
        self.bind_factor(&table.relation, bindings, conditions);
        for join in &table.joins {
            self.bind_factor(&join.relation, bindings, conditions);
            if let Some(JoinConstraint::On(on)) = join_constraint(&join.join_operator) {
                conditions.push(on);
            }
        }
    }

    fn bind_factor<'e>(
        &self,
        factor: &'e TableFactor,
        bindings: &mut Vec<Binding>,
        conditions: &mut Vec<&'e Expr>,
    ) {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let table = last_name(name);
                if self.tenant_tables.contains(table.as_str()) {
                    let name = alias
                        .as_ref()
                        .map(|alias| alias.name.value.to_lowercase())
                        .unwrap_or_else(|| table.clone());
                    bindings.push(Binding { name, table });
                }
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.bind(table_with_joins, bindings, conditions),
            _ => {}
        }
    }
}

fn join_constraint(operator: &JoinOperator) -> Option<&JoinConstraint> {
    match operator {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c) => Some(c),
        _ => None,
    }
}

fn split_and<'e>(expr: &'e Expr, into: &mut Vec<&'e Expr>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, into);
            split_and(right, into);
        }
        Expr::Nested(inner) => split_and(inner, into),
        _ => into.push(expr),
    }
}

/// An expression that names no column: a parameter, a constant, a function of those.
fn is_fixed(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_continue()
}

fn side(expr: &Expr, bindings: &[Binding]) -> Side {
    match expr {
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => side(inner, bindings),
        Expr::Identifier(column) if is_tenant_id(&column.value) => match bindings {
            [_] => Side::TenantId(0),
            // Unqualified with no tenant table in scope: an enclosing scope's column.
            [] => Side::Fixed,
            _ => Side::Other,
        },
        Expr::CompoundIdentifier(parts)
            if parts.len() >= 2 && is_tenant_id(&parts[parts.len() - 1].value) =>
        {
            let qualifier = parts[parts.len() - 2].value.to_lowercase();
            match bindings.iter().position(|b| b.name == qualifier) {
                Some(index) => Side::TenantId(index),
                None => Side::Fixed,
            }
        }
        _ if is_fixed(expr) => Side::Fixed,
        _ => Side::Other,
    }
}

fn tables() -> HashSet<&'static str> {
    TENANT_TABLES.into_iter().collect()
}

fn missing(sql: &str) -> Vec<String> {
    check(sql, &tables()).expect("parses").missing
}

#[test]
fn the_check_refuses_a_tenant_table_without_a_tenant_predicate() {
    assert_eq!(
        missing("select id from patients where id = $1"),
        ["patients: no tenant_id = $n"]
    );
    assert_eq!(
        missing(r#"UPDATE "users" SET "is_active" = $1 WHERE "users"."id" = $2"#),
        ["users: no tenant_id = $n"]
    );
    assert_eq!(
        missing("insert into invoices (appointment_id, total_amount) values ($1, $2)"),
        ["insert into invoices without tenant_id"]
    );
    // A join on ids alone leaves the joined table unpruned.
    assert_eq!(
        missing(
            "select a.id from appointments a join patients p on p.id = a.patient_id
              where a.tenant_id = $1"
        ),
        ["patients p: no tenant_id = $n"]
    );
    // A subquery is a scope of its own.
    assert_eq!(
        missing(
            "select id from invoices i where i.tenant_id = $1
               and exists (select 1 from ledger_lines l where l.entry_id = i.id)"
        ),
        ["ledger_lines l: no tenant_id = $n"]
    );
    // A tenant_id compared with anything but a parameter or another tenant_id does not count.
    assert_eq!(
        missing("select id from users where tenant_id = created_by"),
        ["users: no tenant_id = $n"]
    );
}

#[test]
fn the_check_accepts_filtered_statements_joins_on_tenant_id_and_calls() {
    for sql in [
        r#"SELECT "users"."id" FROM "users" WHERE "users"."tenant_id" = $1 AND "users"."id" = $2"#,
        "select a.id from appointments a
           left join patients p on p.tenant_id = a.tenant_id and p.id = a.patient_id
          where a.tenant_id = $1::uuid",
        "select id from invoices i where i.tenant_id = $1
            and exists (select 1 from ledger_lines l where l.tenant_id = i.tenant_id)",
        "update appointments set status = $1 where (tenant_id = $2 and id = $3) returning id",
        "insert into users (tenant_id, username) values ($1, $2) on conflict do nothing",
        "select id from patients where tenant_id in ($1)",
        "select 1 where user_credential_stands($1::uuid, $2::uuid, $3::smallint, $4)",
        "select id, slug from tenants where slug = $1",
    ] {
        assert_eq!(missing(sql), Vec::<String>::new(), "{sql}");
    }
}
