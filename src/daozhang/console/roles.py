"""Staff roles as Django groups, defined here and synchronised after every `migrate`.

The role table is code, not admin clicks: who may re-pay a payout or read the audit log is
a decision that belongs in review, in version control, and in docs/console.md. Each
`migrate` therefore makes every role group hold exactly the permissions listed here, and
records any change it makes in the audit log. Superusers need no group; user and group
administration (auth.*) is deliberately in no role, so no role can grant itself more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from daozhang.audit import services as audit
from daozhang.audit.models import AuditEvent


@dataclass(frozen=True)
class Role:
    group: str  # the Django group name (what the admin shows)
    en: str
    slug: str  # the demo username and a stable key for documents and tests
    perms: tuple[str, ...]


_VIEW_MERCHANTS = ("merchants.view_merchant", "merchants.view_settlementaccount", "terminals.view_terminal")

CUSTOMER_SERVICE = Role("客服", "Customer service", "cs", (
    *_VIEW_MERCHANTS,
    "payments.view_payment",
    "settlement.view_settlementbatch", "settlement.view_payout",
    "risk.view_riskhold",
    "support.view_supportcase", "support.change_supportcase",
    "core.view_outboxdelivery",  # did the merchant get the SMS? (the delivery log)
))
RISK = Role("风控", "Risk", "risk", (
    *_VIEW_MERCHANTS,
    "merchants.change_merchant",  # suspend / reactivate
    "terminals.change_terminal",  # suspend a terminal
    "payments.view_payment",
    "settlement.view_settlementbatch", "settlement.view_payout",
    "risk.view_riskhold", "risk.add_riskhold", "risk.change_riskhold",
    "support.view_supportcase",
    "audit.view_auditevent",
    # the second person on a risky settlement-account change (a personal account, a new holder)
    "approvals.view_approvalrequest", "merchants.approve_account_change",
))
FINANCE = Role("财务", "Finance", "finance", (
    *_VIEW_MERCHANTS,
    "payments.view_payment",
    "settlement.view_settlementbatch", "settlement.change_settlementbatch",  # re-pay, hold
    "settlement.view_payout",
    "settlement.view_adjustment", "settlement.add_adjustment",
    # four eyes: one finance user asks for a large adjustment, another approves it (approvals)
    "approvals.view_approvalrequest", "settlement.approve_adjustment",
    "dates.view_calendaryear",
    "risk.view_riskhold",
    "core.view_alert", "core.change_alert",
))
DEVICE_LOGISTICS = Role("设备物流", "Device logistics", "logistics", (
    "merchants.view_merchant",  # to find the merchant a device is bound to
    "terminals.view_terminal", "terminals.add_terminal", "terminals.change_terminal",
))
ADMIN = Role("管理员", "Admin", "admin", tuple(sorted({
    *CUSTOMER_SERVICE.perms, *RISK.perms, *FINANCE.perms, *DEVICE_LOGISTICS.perms,
    "merchants.add_merchant",  # onboarding
    "merchants.add_merchantuser",  # portal logins
    "access.add_apikey",
    "access.view_stafftoken", "access.change_stafftoken",  # see and revoke every staff token
    "otp_totp.delete_totpdevice",  # reset a merchant user's two-factor sign-in (a lost phone)
    "core.view_jobrun",
    "core.change_outboxdelivery",  # retry a failed or dead delivery now
})))

ROLES: tuple[Role, ...] = (CUSTOMER_SERVICE, RISK, FINANCE, DEVICE_LOGISTICS, ADMIN)


def ensure_roles(using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps) -> dict[str, tuple[list[str], list[str]]]:
    """Create the role groups and give each exactly its permissions; returns what changed.

    Permissions are created first (Django creates them per app after migrate, but this is
    also called outside migrate, e.g. by the demo), so a missing one is a typo here and
    fails loudly instead of leaving a role silently short of a right.
    """

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    group_model = apps.get_model("auth", "Group")
    perm_model = apps.get_model("auth", "Permission")
    changes: dict[str, tuple[list[str], list[str]]] = {}
    with transaction.atomic(using=using):
        for role in ROLES:
            wanted = set(role.perms)
            found = {
                f"{p.content_type.app_label}.{p.codename}": p
                for p in perm_model.objects.using(using).select_related("content_type").filter(
                    codename__in=[name.split(".", 1)[1] for name in wanted])
                if f"{p.content_type.app_label}.{p.codename}" in wanted
            }
            missing = wanted - set(found)
            if missing:
                raise LookupError(f"role {role.group}: unknown permissions {sorted(missing)}")
            group, _ = group_model.objects.using(using).get_or_create(name=role.group)
            have = {f"{p.content_type.app_label}.{p.codename}"
                    for p in group.permissions.select_related("content_type")}
            if have == wanted:
                continue
            group.permissions.set(found.values())
            added, removed = sorted(wanted - have), sorted(have - wanted)
            changes[role.group] = (added, removed)
            audit.record(actor="system:migrate", action="console.role_sync", obj_type="group", obj_id=group.pk,
                         before={"permissions": sorted(have)}, after={"permissions": sorted(wanted)})
    return changes


def sync_roles_after_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps,
                             **kwargs: Any) -> None:
    """post_migrate receiver: runs once per `migrate`, after every app's permissions exist
    (the console is the last installed app, and Django creates permissions per app first).

    Skipped when the tables it needs are not there, e.g. after migrating auth or the audit
    log back to zero, so a partial migrate never fails because of the roles.
    """
    tables = set(connections[using].introspection.table_names())
    needed = {"auth_group", "auth_permission", "auth_group_permissions", "django_content_type",
              AuditEvent._meta.db_table}
    if needed <= tables:
        ensure_roles(using=using, apps=apps)
