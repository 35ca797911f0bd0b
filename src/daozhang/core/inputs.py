"""The input rules of the API, written once as annotated types every schema uses.

Each type refuses a bad value with a stable code from `core.errors.CATALOGUE` (the
pydantic error *type* is the code, its context the message parameters), so the API's
validation handler names the field and the reason in zh-CN and English; and each type
carries its JSON Schema (minimum/maximum, maxLength, pattern, format), so the OpenAPI
document states the same rule the code enforces.

- Money: integer fen, `AmountFen` positive, `SignedAmountFen` non-zero; |amount| at most
  `MAX_AMOUNT_FEN` (999,999,999,999 fen: ISO 8583 field 4 is n12).
- Dates: `YYYY-MM-DD` only, within the business range `FIRST_DATE`…`LAST_DATE`
  (2000-01-01…2099-12-31; the working-day calendar and the settlement dates live there).
- Full card numbers: refused in every field of a body by the API's parser (core.edge,
  core.pan), but in a field whose type says `Text(…, pan=core.pan.CARD)` (or ACCOUNT,
  PAYMENT_CODE): the schema then carries `x-daozhang-pan`, which the parser reads.
- Text: `Annotated[str, Text(max_length)]` refuses NUL and other control characters, bidi overrides
  (U+202A–U+202E, U+2066–U+2069) and values that are only blanks or zero-width characters;
  at most `max_length` characters, the length of the column it is stored in.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, PlainValidator, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from daozhang.core.money import MAX_AMOUNT_FEN
from daozhang.core.pan import SCHEMA_KEY as PAN_SCHEMA_KEY

FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)
PASSWORD_MAX = 128
IDEMPOTENCY_KEY_MAX = 120


def refuse(code: str, **params: Any) -> PydanticCustomError:
    """A validation error whose type is a catalogue code (see core.http's handler)."""
    return PydanticCustomError(code, code, params or None)


# ------------------------------------------------------------------------------ money


def _int_fen(value: object, *, from_text: bool) -> int:
    if isinstance(value, bool):
        raise refuse("not_integer_fen")
    if isinstance(value, int):
        return value
    # Query strings are text: "500" is 500 fen there; "1.5", "1e3" and "" are refused.
    if from_text and isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value):
        return int(value)
    if from_text and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        raise refuse("too_large")
    raise refuse("not_integer_fen")


def _check_positive(fen: int) -> int:
    if fen <= 0:
        raise refuse("not_positive")
    if fen > MAX_AMOUNT_FEN:
        raise refuse("too_large")
    return fen


def _check_signed(fen: int) -> int:
    if fen == 0:
        raise refuse("zero_adjustment")
    if abs(fen) > MAX_AMOUNT_FEN:
        raise refuse("too_large")
    return fen


_POSITIVE_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_FEN,
                    "description": f"Integer fen, 1…{MAX_AMOUNT_FEN:,}"}

AmountFen = Annotated[int, PlainValidator(lambda v: _check_positive(_int_fen(v, from_text=False))),
                      WithJsonSchema(_POSITIVE_SCHEMA)]
"""A positive amount in a JSON body: an integer (12.0, "12" and true are refused)."""

AmountFenQuery = Annotated[int, PlainValidator(lambda v: _check_positive(_int_fen(v, from_text=True))),
                           WithJsonSchema(_POSITIVE_SCHEMA)]
"""A positive amount in a query string."""

SignedAmountFen = Annotated[
    int, PlainValidator(lambda v: _check_signed(_int_fen(v, from_text=False))),
    WithJsonSchema({"type": "integer", "minimum": -MAX_AMOUNT_FEN, "maximum": MAX_AMOUNT_FEN, "not": {"const": 0},
                    "description": f"Integer fen, non-zero, |amount| ≤ {MAX_AMOUNT_FEN:,}: positive credits, "
                                   "negative deducts"})]
"""An adjustment: non-zero, signed."""


# ------------------------------------------------------------------------------ dates

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def parse_business_date(value: object) -> dt.date:
    """A YYYY-MM-DD date within FIRST_DATE…LAST_DATE (the rule of every date input, API and CLI)."""
    if isinstance(value, dt.datetime):
        raise refuse("bad_date")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise refuse("bad_date") from None
    else:
        raise refuse("bad_date")
    if not FIRST_DATE <= day <= LAST_DATE:
        raise refuse("date_out_of_range", first=FIRST_DATE.isoformat(), last=LAST_DATE.isoformat())
    return day


BusinessDate = Annotated[dt.date, PlainValidator(parse_business_date), WithJsonSchema({
    "type": "string", "format": "date", "pattern": DATE_PATTERN,
    "description": f"YYYY-MM-DD, {FIRST_DATE.isoformat()}…{LAST_DATE.isoformat()}"})]
"""A business date, in a query, a path or a body."""


# ------------------------------------------------------------------------------- text

# Control characters (C0, DEL, C1), bidi embeddings/overrides and isolates.
_FORBIDDEN = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_RE = re.compile(f"[{_FORBIDDEN}]")
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"}
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"  # the same set, as JSON Schema writes it


def _is_blank(value: str) -> bool:
    return all(ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) == "Cf" for ch in value)


def clean_text(value: object, *, max_length: int, required: bool) -> str:
    """The text rule: a string without control or bidi characters, not only blanks, at most
    `max_length` characters; returned stripped."""
    if not isinstance(value, str):
        raise refuse("invalid")
    if _FORBIDDEN_RE.search(value):
        raise refuse("bad_text")
    if len(value) > max_length:
        raise refuse("too_long", max=max_length)
    if _is_blank(value):
        if required or value:
            raise refuse("required") if required else refuse("bad_text")
        return ""
    return value.strip()


class _Rule:
    """Annotated metadata that validates with `check` and documents itself with `schema`."""

    def check(self, value: object) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return self.schema()


@dataclass(frozen=True)
class Text(_Rule):
    """`Annotated[str, Text(60)]`: a text field stored in a column of 60 characters."""

    max_length: int
    required: bool = True
    description: str = ""
    pan: str = ""  # declared to carry a card or account number: core.pan.CARD / ACCOUNT

    def check(self, value: object) -> str:
        return clean_text(value, max_length=self.max_length, required=self.required)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "maxLength": self.max_length, "pattern": TEXT_PATTERN}
        if self.required:
            out["minLength"] = 1
        if self.description:
            out["description"] = self.description
        if self.pan:
            out[PAN_SCHEMA_KEY] = self.pan
        return out


@dataclass(frozen=True)
class Code(_Rule):
    """`Annotated[str, Code(r"^[0-9]{6}$")]`: a fixed-format code, ASCII, matching the pattern."""

    pattern: str
    description: str = ""
    pan: str = ""  # see Text.pan

    def check(self, value: object) -> str:
        if not isinstance(value, str) or not value.isascii() or not re.fullmatch(self.pattern, value):
            raise refuse("invalid")
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "pattern": self.pattern}
        if self.description:
            out["description"] = self.description
        if self.pan:
            out[PAN_SCHEMA_KEY] = self.pan
        return out


def username(value: object) -> str:
    """A login name: the text rule, then NFKC (as Django stores it), so `ｍerchant1` is `merchant1`."""
    return unicodedata.normalize("NFKC", clean_text(value, max_length=60, required=True))


Username = Annotated[str, PlainValidator(username), WithJsonSchema({
    "type": "string", "minLength": 1, "maxLength": 60, "pattern": TEXT_PATTERN,
    "description": "Compared after NFKC normalisation: ｍerchant1 is merchant1"})]


def _password(value: object) -> str:
    if not isinstance(value, str):
        raise refuse("invalid")
    if not value:
        raise refuse("required")
    if len(value) > PASSWORD_MAX:
        raise refuse("too_long", max=PASSWORD_MAX)
    if "\x00" in value:
        raise refuse("bad_text")
    return value


Password = Annotated[str, PlainValidator(_password), WithJsonSchema({
    "type": "string", "minLength": 1, "maxLength": PASSWORD_MAX, "format": "password", "pattern": "^[^\\x00]*$"})]


def _limit(value: object) -> int:
    if isinstance(value, bool):
        raise refuse("invalid")
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value):
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 500:
        raise refuse("invalid")
    return value


Limit = Annotated[int, PlainValidator(_limit), WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 500})]
"""A page size: 1…500."""


# ------------------------------------------------------------------ payment references
# How a payment is looked up (payments and where-is-my-money alike): a malformed value is
# 400; a value in the right shape that is not yours finds nothing.
TerminalRef = Annotated[str, Text(8, required=False, description="Terminal id (ISO 8583 field 41)")]
StanRef = Annotated[str, Text(6, required=False, description="6-digit trace number")]
Rrn = Annotated[str, Text(12, required=False, description="Retrieval reference number (ISO 8583 field 37)")]
