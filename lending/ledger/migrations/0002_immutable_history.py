"""On PostgreSQL, the database itself refuses UPDATE and DELETE on journals and transfers.

Python refuses them too (ImmutableQuerySet), but a trigger also stops raw SQL, the admin shell
and any future code path. TRUNCATE is left alone: it needs the table owner's rights, which the
application's role should not have in production, and test databases are emptied with it.
"""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on % refused; post a reversing journal instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER ledger_journal_immutable BEFORE UPDATE OR DELETE ON ledger_journal
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_transfer_immutable BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""

ALLOW = """
DROP TRIGGER IF EXISTS ledger_transfer_immutable ON ledger_transfer;
DROP TRIGGER IF EXISTS ledger_journal_immutable ON ledger_journal;
DROP FUNCTION IF EXISTS ledger_forbid_change();
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
