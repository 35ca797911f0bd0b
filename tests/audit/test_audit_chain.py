"""Issue 11 item 6: the audit log was append-only by convention only. Now each row is a link
of its merchant's hash chain (or the platform's), and `daozhang audit verify` names the
first broken link of each chain after a row is edited, deleted or reordered by SQL."""

from __future__ import annotations

import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from daozhang.audit import services as audit
from daozhang.audit.chain import GENESIS, row_hash
from daozhang.audit.models import AuditChain, AuditEvent
from daozhang.audit.verify import verify_chains
from daozhang.core.ids import PLATFORM_ID
from daozhang.testing.tamper import db_id, tampering


def verify() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", "--quiet", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails() -> tuple[str, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify", "--quiet", stdout=out, stderr=err)
    return str(exc.value), err.getvalue().splitlines()


def _write(merchant_id: uuid.UUID | None, n: int, tag: str = "x") -> list[AuditEvent]:
    for i in range(n):
        audit.record(actor="staff:alice", action=f"test.{tag}", obj_type="thing", obj_id=i, merchant_id=merchant_id,
                     before={"n": i, "price": 1.0, "nested": {"b": [1, 2.5], "a": "中文"}}, after={"n": i + 1})
    return list(AuditEvent.objects.filter(action=f"test.{tag}", merchant_id=merchant_id or PLATFORM_ID)
                .order_by("seq"))


def test_each_merchant_and_the_platform_have_their_own_chain(db):
    m1, m2 = uuid.uuid4(), uuid.uuid4()
    a = _write(m1, 3)
    b = _write(m2, 2)
    p = _write(None, 2)
    assert [e.seq for e in a] == [1, 2, 3] and [e.seq for e in b] == [1, 2]
    assert a[0].prev_hash == GENESIS and a[1].prev_hash == a[0].hash and a[2].prev_hash == a[1].hash
    assert b[0].prev_hash == GENESIS
    assert p[-1].seq >= 2  # the platform chain may hold other rows (the test's users)
    assert {e.merchant_id for e in p} == {PLATFORM_ID}  # the platform's rows: its tenant (audit 0004)
    assert AuditChain.objects.get(chain="platform").seq == p[-1].seq
    assert AuditChain.objects.get(chain=str(m1)).seq == 3
    # The stored row, read back, hashes to what it carries: floats without a fraction are stored as ints.
    e = AuditEvent.objects.get(id=a[1].id)
    assert e.before == {"n": 1, "price": 1, "nested": {"b": [1, 2.5], "a": "中文"}}
    assert e.hash == row_hash(id=e.id, at=e.at, actor=e.actor, action=e.action, object_type=e.object_type,
                              object_id=e.object_id, merchant_id=e.merchant_id, before=e.before, after=e.after,
                              seq=e.seq, prev_hash=e.prev_hash)
    out, err = verify()
    assert err == "" and out.startswith("audit OK:") and "0 chains broken" in out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attack", ["edit", "delete", "reorder", "delete_last", "edit_and_rehash"])
def test_verify_names_the_first_broken_link_after_sql_tampering(attack):
    victim, bystander = uuid.uuid4(), uuid.uuid4()
    rows = _write(victim, 4)
    _write(bystander, 2)
    assert verify_chains().ok
    with tampering() as cur:
        if attack == "edit":
            cur.execute("UPDATE audit_auditevent SET actor = 'staff:mallory' WHERE id = %s", [db_id(rows[1].id)])
        elif attack == "delete":
            cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [db_id(rows[1].id)])
        elif attack == "reorder":
            cur.execute("UPDATE audit_auditevent SET seq = -seq WHERE id IN (%s, %s)",
                        [db_id(rows[1].id), db_id(rows[2].id)])
            cur.execute("UPDATE audit_auditevent SET seq = 3 WHERE id = %s", [db_id(rows[1].id)])
            cur.execute("UPDATE audit_auditevent SET seq = 2 WHERE id = %s", [db_id(rows[2].id)])
        elif attack == "delete_last":
            cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [db_id(rows[3].id)])
        else:  # edit a row and give it a hash that matches: the next row's link breaks
            e = rows[1]
            forged = row_hash(id=e.id, at=e.at, actor="staff:mallory", action=e.action, object_type=e.object_type,
                              object_id=e.object_id, merchant_id=e.merchant_id, before=e.before, after=e.after,
                              seq=e.seq, prev_hash=e.prev_hash)
            cur.execute("UPDATE audit_auditevent SET actor = 'staff:mallory', hash = %s WHERE id = %s",
                        [forged, db_id(e.id)])
    message, lines = verify_fails()
    assert "1 chains broken" in message
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"audit chain {victim}: ")
    expected = {
        "edit": (f"row {rows[1].id} (seq 2)", "does not match its contents"),
        "delete": (f"row {rows[2].id} (seq 3)", "expected seq 2"),
        "reorder": (f"row {rows[2].id} (seq 2)", "previous-hash does not match"),
        "delete_last": ("chain head", "head says seq 4, the last row is seq 3"),
        "edit_and_rehash": (f"row {rows[2].id} (seq 3)", "previous-hash does not match"),
    }[attack]
    assert all(part in line for part in expected), line


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_rows_written_before_it():
    """Rows from before the chains (no hashes, no heads) are chained in written order."""
    import importlib

    from django.apps import apps

    mig = importlib.import_module("daozhang.audit.migrations.0002_hash_chains")
    merchant = uuid.uuid4()
    _write(merchant, 3)
    _write(None, 1)
    with tampering() as cur:
        cur.execute("UPDATE audit_auditevent SET prev_hash = '', hash = ''")
        cur.execute("DELETE FROM audit_auditchain")
    assert not verify_chains().ok

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    with tampering() as cur:  # the migration runs before the rows become immutable
        cur.execute("SELECT 1")
        if connection.vendor == "sqlite":
            mig.chain_existing(apps, editor)
    if connection.vendor == "postgresql":
        from daozhang.core.dbroles import as_owner

        with as_owner(connection), connection.cursor() as c:
            c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            try:
                mig.chain_existing(apps, editor)
            finally:
                c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    assert verify_chains().ok
    seqs = AuditEvent.objects.filter(merchant_id=merchant).order_by("seq").values_list("seq", flat=True)
    assert list(seqs) == [1, 2, 3]


# --- /admin/ user and group edits are audited ----------------------------------------------


def test_admin_user_and_group_edits_are_audited(db):
    """Issue 11: user and group edits in /admin/ left no audit record."""
    users = get_user_model()
    boss = users.objects.create_superuser("root", "root@example.com", "x-very-long-pw-1")
    clerk = users.objects.create_user("clerk", "clerk@example.com", "x-very-long-pw-2")
    c = Client()
    c.force_login(boss)
    perm = Permission.objects.get(codename="change_settlementbatch")
    r = c.post("/admin/auth/group/add/", {"name": "payers", "permissions": [perm.pk]})
    assert r.status_code == 302, r.content[:500]
    group = Group.objects.get(name="payers")
    r = c.post(f"/admin/auth/user/{clerk.pk}/change/", {
        "username": "clerk", "email": "clerk@example.com", "first_name": "", "last_name": "",
        "is_active": "on", "is_staff": "on", "groups": [group.pk], "user_permissions": [perm.pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00", "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "10:00:00"})
    assert r.status_code == 302, r.content[:2000]
    r = c.post(f"/admin/auth/user/{clerk.pk}/password/", {"password1": "an-other-long-pw-3",
                                                          "password2": "an-other-long-pw-3", "usable_password": "true"})
    assert r.status_code == 302, r.content[:2000]
    r = c.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302

    events = {(e.action, e.object_id): e for e in AuditEvent.objects.filter(actor="staff:root")}
    gid, uid = str(group.pk), str(clerk.pk)
    assert events[("auth.group.create", gid)].after == {"name": "payers"}
    assert events[("auth.group.permissions", gid)].after == {"added": ["settlement.change_settlementbatch"]}
    changes = [(e.before, e.after) for e in AuditEvent.objects.filter(actor="staff:root", action="auth.user.change",
                                                                       object_id=uid).order_by("seq")]
    assert changes == [({"is_staff": False}, {"is_staff": True}), ({}, {"password_changed": True})]
    assert events[("auth.user.groups", uid)].after == {"added": ["payers"]}
    assert events[("auth.user.user_permissions", uid)].after == {"added": ["settlement.change_settlementbatch"]}
    assert events[("auth.group.delete", gid)].before == {"name": "payers"}
    assert "pbkdf2" not in str(list(AuditEvent.objects.values_list("before", "after")))
    assert verify_chains().ok


def test_a_user_made_superuser_from_a_shell_is_audited_as_system(db):
    clerk = get_user_model().objects.create_user("clerk2", "c2@example.com", "x-very-long-pw-2")
    clerk.is_superuser = True
    clerk.save()
    e = AuditEvent.objects.get(action="auth.user.change", object_id=str(clerk.pk))
    assert (e.actor, e.before, e.after) == ("system", {"is_superuser": False}, {"is_superuser": True})


@pytest.mark.django_db(transaction=True)
def test_platform_rows_written_with_no_merchant_keep_their_chain_through_audit_0004():
    """Before audit 0004 the platform's rows had merchant_id NULL. The migration gives them
    the platform tenant's id; their hashes, made over NULL, still verify."""
    import datetime as dt

    from django.db.migrations.executor import MigrationExecutor

    from daozhang.core.dbroles import as_owner

    old = [("audit", "0003_append_only")]
    with as_owner(connection):
        executor = MigrationExecutor(connection)
        executor.migrate(old)
        with connection.cursor() as cur:
            # The platform chain goes on from its head (the test database's own rows, if any).
            cur.execute("SELECT seq, hash FROM audit_auditchain WHERE chain = 'platform'")
            head = cur.fetchone()
            start, prev = (int(head[0]), head[1]) if head else (0, GENESIS)
            for seq in (start + 1, start + 2):
                rid, at = uuid.uuid4(), dt.datetime(2026, 11, seq, 9, tzinfo=dt.UTC)
                digest = row_hash(id=rid, at=at, actor="staff:old", action="test.old", object_type="t",
                                  object_id=str(seq), merchant_id=None, before=None, after={"n": seq}, seq=seq,
                                  prev_hash=prev)
                cur.execute("INSERT INTO audit_auditevent (id, at, actor, action, object_type, object_id, merchant_id,"
                            " before, after, seq, prev_hash, hash) VALUES (%s, %s, 'staff:old', 'test.old', 't', %s,"
                            " NULL, NULL, %s, %s, %s, %s)",
                            [db_id(rid), connection.ops.adapt_datetimefield_value(at), str(seq), f'{{"n": {seq}}}',
                             seq, prev, digest])
                prev = digest
            cur.execute("DELETE FROM audit_auditchain WHERE chain = 'platform'")
            cur.execute("INSERT INTO audit_auditchain (chain, seq, hash) VALUES ('platform', %s, %s)",
                        [start + 2, prev])
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    rows = list(AuditEvent.objects.filter(action="test.old").order_by("seq"))
    assert [(e.seq, e.merchant_id) for e in rows] == [(start + 1, PLATFORM_ID), (start + 2, PLATFORM_ID)]
    out, err = verify()
    assert err == "" and "0 chains broken" in out
    audit.record(actor="staff:new", action="test.new", obj_type="t", obj_id="3")  # the chain goes on
    assert AuditEvent.objects.get(action="test.new").seq == start + 3 and verify_chains().ok
