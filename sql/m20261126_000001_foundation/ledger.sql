-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Ledger: the financial record is double-entry and immutable.
--
--   * journal_entries groups the lines of one posting (a charge, payment, refund, write-off or
--     void reversal); ledger_lines holds its debits and credits, each a positive amount.
--   * Balanced at commit: a deferred constraint trigger checks, when the transaction commits,
--     that every entry touched has at least two lines and debits = credits. A violation is a
--     check_violation on constraint journal_entry_balanced and the whole transaction rolls back.
--   * Immutable: no UPDATE or DELETE, for the owner too (triggers) and for the application role
--     (no grant), and no line can be added to an entry after the transaction that posted it
--     (balanced pairs slipped into an old entry would rewrite it). Corrections are new entries.
--   * Payments and refunds carry an idempotency key, unique per clinic (constraints in the
--     migration), so a retried payment is recorded once.

-- search_path pinned and the table qualified, so a temporary table named ledger_lines cannot stand in.
create function check_journal_entry_balanced() returns trigger
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare
  -- tg_argv[0] names the column holding the entry id: `id` on journal_entries, `entry_id` on lines.
  checked_entry constant uuid := (to_jsonb(new) ->> tg_argv[0])::uuid;
  line_count bigint;
  debits_minus_credits numeric;
begin
  select count(*), coalesce(sum(case side when 'Debit' then amount else -amount end), 0)
    into line_count, debits_minus_credits
    from public.ledger_lines
   where tenant_id = new.tenant_id and entry_id = checked_entry;
  if line_count < 2 or debits_minus_credits <> 0 then
    raise exception 'journal entry % is not balanced: % lines, debits minus credits = %',
                    checked_entry, line_count, debits_minus_credits
      using errcode = 'check_violation', constraint = 'journal_entry_balanced';
  end if;
  return null;
end
$$;

create constraint trigger journal_entry_balanced after insert on journal_entries
  deferrable initially deferred
  for each row execute function check_journal_entry_balanced('id');
create constraint trigger journal_entry_balanced after insert on ledger_lines
  deferrable initially deferred
  for each row execute function check_journal_entry_balanced('entry_id');

create function stamp_posting_transaction() returns trigger
language plpgsql as $$
begin
  new.posted_in_transaction := pg_current_xact_id();
  return new;
end
$$;

create function refuse_lines_for_earlier_entries() returns trigger
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
begin
  if not exists (select from public.journal_entries
                  where tenant_id = new.tenant_id and id = new.entry_id
                    and posted_in_transaction = pg_current_xact_id()) then
    raise exception 'journal entry % was posted by an earlier transaction: post a new entry instead', new.entry_id
      using errcode = 'check_violation', constraint = 'ledger_lines_same_transaction';
  end if;
  return null;
end
$$;

create trigger stamp_posting_transaction before insert on journal_entries
  for each row execute function stamp_posting_transaction();
-- AFTER, so that row-level security and the foreign key (whose trigger sorts first) speak first.
create trigger same_transaction_as_entry after insert on ledger_lines
  for each row execute function refuse_lines_for_earlier_entries();

create trigger immutable before update on journal_entries
  for each statement execute function forbid_change();
create trigger immutable before update on ledger_lines
  for each statement execute function forbid_change();
