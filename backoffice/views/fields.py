"""Filter and form fields for our own column types (exact money, aware timestamps, labelled
enums) and relation pickers that yield WTForms ``Choice`` objects."""

from __future__ import annotations

import enum
from typing import Any

from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField, Select2Field
from flask_admin.model.filters import convert
from flask_admin.model.form import converts
from wtforms import DecimalField
from wtforms.fields import Choice, SelectChoice

from backoffice.models.base import LabeledEnum


class QQFilterConverter(FilterConverter):
    """Filters for our own column types (exact money, aware timestamps)."""

    @convert("money", "rate")
    def conv_money(self, column, name, **kwargs):
        return self.conv_float(column, name, **kwargs)

    @convert("utcdatetime")
    def conv_utcdatetime(self, column, name, **kwargs):
        return self.conv_datetime(column, name, **kwargs)

    @convert("enum")
    def conv_enum(self, column, name, options=None, **kwargs):
        # Flask-Admin's enum filters look the member up by *name* (``enum_class[value]``) but
        # offered the stored values ('open'), so picking one raised KeyError. Offer the names,
        # labelled in the user's language (the label is rendered per request).
        enum_cls = getattr(column.type, "enum_class", None)
        if not options and enum_cls is not None and issubclass(enum_cls, LabeledEnum):
            options = [(member.name, member.label) for member in enum_cls]
        return super().conv_enum(column, name, options, **kwargs)


def _enum_coerce(value: Any) -> Any:
    # A LabeledEnum is a str whose str() is its label: compare by the stored value.
    return value.value if isinstance(value, enum.Enum) else str(value)


class _ChoiceObjects:
    """Yield WTForms ``Choice`` objects where Flask-Admin 2.2 yields raw tuples.

    WTForms 3.3 deprecates tuples from ``iter_choices()``; the warning fires when the select is
    rendered, so under ``filterwarnings=error`` every form with a relation picker answered 500.
    """

    def iter_choices(self):
        for choice in super().iter_choices():
            if not isinstance(choice, Choice):
                value, text, selected, *render_kw = choice
                if value == "__None" and not text:
                    text = " "  # WTForms prints an empty label as the value, "__None"
                choice = Choice(value, text, selected, render_kw[0] if render_kw else {})
            yield choice


class ChoiceQuerySelectField(_ChoiceObjects, QuerySelectField):
    pass


class ChoiceQuerySelectMultipleField(_ChoiceObjects, QuerySelectMultipleField):
    pass


class EnumSelectField(Select2Field):
    """The select of a ``LabeledEnum`` column: stored values, labels in the user's language.

    Flask-Admin's own enum select passes ``choices`` as tuples and yields tuples from
    ``iter_choices()``; WTForms 3.3 deprecates both, so under ``filterwarnings=error`` every
    /new/ and /edit/ page with an enum answered 500 (STYLE "Traps"). It also labelled options
    with the raw value and coerced a loaded member by its name, so the current value was never
    pre-selected. This field takes ``SelectChoice`` objects and yields ``Choice`` objects.
    """

    def iter_choices(self):
        if self.allow_blank:
            yield Choice("__None", self.blank_text, self.data is None, {})
        for choice in self._choices_from_input(self.choices) or ():
            selected = self.coerce(choice.value) == self.data
            yield Choice(choice.value, choice.label, selected, choice.render_kw)


class QQModelConverter(AdminModelConverter):
    """Form fields for our own column types."""

    @converts("Money")
    def conv_money(self, field_args, **extra):
        field_args.setdefault("places", 2)
        return DecimalField(**field_args)

    @converts("Rate")
    def conv_rate(self, field_args, **extra):
        field_args.setdefault("places", None)
        return DecimalField(**field_args)

    @converts("UTCDateTime")
    def conv_utcdatetime(self, field_args, **extra):
        return DateTimeField(**field_args)

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        field = super()._model_select_field(prop, multiple, remote_model, **kwargs)
        swap = {
            QuerySelectField: ChoiceQuerySelectField,
            QuerySelectMultipleField: ChoiceQuerySelectMultipleField,
        }
        field.field_class = swap.get(field.field_class, field.field_class)
        return field

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column, field_args, **extra):
        enum_cls = getattr(column.type, "enum_class", None)
        if enum_cls is None or not issubclass(enum_cls, LabeledEnum):
            return super().convert_enum(column, field_args, **extra)
        if column.nullable:
            field_args["allow_blank"] = True
        self._nullable_common(column, field_args)
        field_args["choices"] = [SelectChoice(member.value, member.label) for member in enum_cls]
        field_args["coerce"] = _enum_coerce
        return EnumSelectField(**field_args)
