"""User and group changes are audited, whoever makes them: /admin/, a shell, a command.

Who may do what is itself worth an audit trail: a superuser granting a group the right to
re-pay payouts, or a user made staff, must leave a record as any money movement does. The
admin pages write only Django's own LogEntry (a free-text message, editable by whoever may
edit it); these receivers record the creation of every staff user, every change of a
user's flags, groups and permissions, and every change of a group, in the audit log, with
before and after (never a password hash: only that the password changed). The actor is
the signed-in user of the request doing it (audit.middleware), or "system".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from daozhang.audit.services import record

User = get_user_model()
USER_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")
_request: ContextVar[Any] = ContextVar("audit_request", default=None)


@contextlib.contextmanager
def request_context(request: Any) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_actor() -> str:
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    return f"{'staff' if user.is_staff else 'user'}:{user.get_username()}"


def _user_state(values: dict[str, Any]) -> dict[str, Any]:
    return {f: values[f] for f in USER_FIELDS}


def _only_login(update_fields: Any) -> bool:
    return bool(update_fields) and set(update_fields) <= {"last_login"}


@receiver(pre_save, sender=User, dispatch_uid="audit.user_before")
def _user_before(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk is None or _only_login(update_fields):
        return
    instance._audit_before = User.objects.filter(pk=instance.pk).values(*USER_FIELDS, "password").first()


@receiver(post_save, sender=User, dispatch_uid="audit.user_saved")
def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if _only_login(update_fields):
        return
    old = instance.__dict__.pop("_audit_before", None)
    after = _user_state(instance.__dict__)
    if created or old is None:
        # A merchant's portal user is audited by the service that makes it (merchants);
        # an account that can reach the back office is recorded here, however it is made.
        if instance.is_staff or instance.is_superuser:
            record(actor=current_actor(), action="auth.user.create", obj_type="user", obj_id=instance.pk,
                   after=after)
        return
    before = _user_state(old)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if old["password"] != instance.password:
        changed["password_changed"] = True
    if changed:
        record(actor=current_actor(), action="auth.user.change", obj_type="user", obj_id=instance.pk,
               before={k: before[k] for k in changed if k in before}, after=changed)


@receiver(post_delete, sender=User, dispatch_uid="audit.user_deleted")
def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    record(actor=current_actor(), action="auth.user.delete", obj_type="user", obj_id=instance.pk,
           before=_user_state(instance.__dict__))


@receiver(pre_save, sender=Group, dispatch_uid="audit.group_before")
def _group_before(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is not None:
        instance._audit_before = Group.objects.filter(pk=instance.pk).values_list("name", flat=True).first()


@receiver(post_save, sender=Group, dispatch_uid="audit.group_saved")
def _group_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    old = instance.__dict__.pop("_audit_before", None)
    if created or old is None:
        record(actor=current_actor(), action="auth.group.create", obj_type="group", obj_id=instance.pk,
               after={"name": instance.name})
    elif old != instance.name:
        record(actor=current_actor(), action="auth.group.change", obj_type="group", obj_id=instance.pk,
               before={"name": old}, after={"name": instance.name})


@receiver(post_delete, sender=Group, dispatch_uid="audit.group_deleted")
def _group_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    record(actor=current_actor(), action="auth.group.delete", obj_type="group", obj_id=instance.pk,
           before={"name": instance.name})


def _names(model: Any, pks: Any) -> list[str]:
    if model is Permission:
        return sorted(f"{a}.{c}" for a, c in Permission.objects.filter(pk__in=pks)
                      .values_list("content_type__app_label", "codename"))
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    return sorted(str(u) for u in User.objects.filter(pk__in=pks).values_list(User.USERNAME_FIELD, flat=True))


# (through model) → (owner model, relation name): user.groups, user.user_permissions, group.permissions.
_RELATIONS = {
    User.groups.through: (User, "groups"),
    User.user_permissions.through: (User, "user_permissions"),
    Group.permissions.through: (Group, "permissions"),
}


def _m2m(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any) -> None:
    owner, relation = _RELATIONS[sender]
    if action == "pre_clear":
        # The members about to go: read now, recorded once they are gone.
        if reverse:
            instance._audit_cleared = list(getattr(instance, _reverse_name(sender)).values_list("pk", flat=True))
        else:
            instance._audit_cleared = list(getattr(instance, relation).values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pks = instance.__dict__.pop("_audit_cleared", []) if action == "post_clear" else list(pk_set or [])
    if not pks:
        return
    verb = "added" if action == "post_add" else "removed"
    kind = "user" if owner is User else "group"
    if not reverse:
        record(actor=current_actor(), action=f"auth.{kind}.{relation}", obj_type=kind, obj_id=instance.pk,
               after={verb: _names(model, pks)})
        return
    # From the other side (group.user_set.add(user), permission.group_set.remove(g)): one
    # record per owner whose relation changed.
    mine = _names(type(instance), [instance.pk])
    for pk in pks:
        record(actor=current_actor(), action=f"auth.{kind}.{relation}", obj_type=kind, obj_id=pk,
               after={verb: mine})


def _reverse_name(through: Any) -> str:
    owner: Any
    owner, relation = _RELATIONS[through]
    return str(owner._meta.get_field(relation).remote_field.get_accessor_name())


for _through in _RELATIONS:
    m2m_changed.connect(_m2m, sender=_through, dispatch_uid=f"audit.m2m.{_through._meta.label}")
