"""Plain form descriptions for console pages, and domain errors placed beside their field.

Not Django forms: the domain services already validate (and the API shares their error
catalogue), so a second layer of validation here could only disagree with them. A form
here only says which fields a page shows, with a zh-CN/English label each, keeps what the
user typed, and puts a `DomainError` next to the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, QueryDict

from daozhang.core.errors import DomainError
from daozhang.web.parse import page_language as language
from daozhang.web.parse import split_label

ALL = "__all__"


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    en: str
    kind: str = "text"  # text | textarea | select | date | search
    required: bool = True
    options: tuple[tuple[str, str, str], ...] = ()  # (value, 中文, English)
    help_zh: str = ""
    help_en: str = ""
    maxlength: int = 200

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")


@dataclass
class Form:
    fields: tuple[Field, ...]
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # error field → form field

    @classmethod
    def bound(cls, fields: tuple[Field, ...], data: QueryDict | dict[str, str],
              aliases: dict[str, str] | None = None, initial: dict[str, str] | None = None) -> Form:
        first = initial or {}
        values = {f.name: str(data.get(f.name, first.get(f.name, ""))).strip() for f in fields}
        return cls(fields, values, {}, aliases or {})

    def __getitem__(self, name: str) -> str:
        """The submitted value of a field; KeyError for anything else, so templates that
        look up `form.rows` fall through to the attribute as Django's lookup order needs."""
        return self.values[name]

    def add_error(self, request: HttpRequest, exc: DomainError) -> None:
        """Put the service's message beside its field; one the form lacks goes on top."""
        name = self.aliases.get(exc.field or "", exc.field or "")
        if name not in {f.name for f in self.fields}:
            name = ALL
        self.errors[name] = exc.message(language(request))

    def require(self, *names: str) -> None:
        """Fields the console insists on although the service accepts them empty (reasons)."""
        for name in names:
            if not self.values.get(name):
                raise DomainError("required", name)

    def rows(self) -> list[dict[str, Any]]:
        return [{"f": f, "value": self.values.get(f.name, ""), "error": self.errors.get(f.name, "")}
                for f in self.fields]

    @property
    def top_error(self) -> str:
        return self.errors.get(ALL, "")


def choices(enum: Any) -> tuple[tuple[str, str, str], ...]:
    """(value, 中文, English) for every member of a TextChoices enum."""
    return tuple((m.value, *split_label(m.label)) for m in enum)


REASON = Field("reason", "原因", "Reason", "textarea", help_zh="将记入审计日志。",
               help_en="Kept in the audit log.", maxlength=300)
