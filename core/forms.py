"""Form helpers every app's dashboard forms share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats


class BootstrapForm(forms.Form):
    """Adds Bootstrap's classes to the widgets (the templates render fields as-is)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_fields()

    def style_fields(self) -> None:
        for bound in self.visible_fields():
            widget = bound.field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                continue
            if isinstance(widget, forms.RadioSelect):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault(
                "class",
                f"{css} form-control-sm" if css == "form-control" else f"{css} form-select-sm",
            )


def errors_to_form(form: forms.BaseForm, exc: ValidationError) -> None:
    """A service's ValidationError shown on the form: field errors on their fields, the rest
    at the top."""
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


_HINTS = (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%H", "HH"), ("%M", "MM"))


def _hint(fmt: str) -> str:
    for code, hint in _HINTS:
        fmt = fmt.replace(code, hint)
    return fmt


def date_format_hint() -> str:
    """How the active language writes a date in a form ("dd.mm.yyyy" for az and ru), from the
    first of its DATE_INPUT_FORMATS: the format `LocalDateInput` shows and parses first."""
    return _hint(formats.get_format("DATE_INPUT_FORMATS")[0])


def datetime_input_format() -> str:
    """The active language's first date-and-time input format to the minute
    ("%d.%m.%Y %H:%M" for az and ru)."""
    choices = formats.get_format("DATETIME_INPUT_FORMATS")
    return next((f for f in choices if "%S" not in f), choices[0])


class LocalDateInput(forms.DateInput):
    """A date typed the way the user's language writes it (dd.mm.yyyy in az and ru).

    A browser's `<input type="date">` follows the browser's own language, not the one the
    person chose here, so it is a text input with the format as a placeholder; the field
    parses the language's DATE_INPUT_FORMATS, which always include ISO (yyyy-mm-dd), so links
    and saved filters written in ISO keep working."""

    input_type = "text"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs.setdefault("placeholder", date_format_hint())
        widget_attrs.setdefault("inputmode", "numeric")
        widget_attrs.setdefault("autocomplete", "off")
        return context


class LocalDateTimeInput(forms.DateTimeInput):
    """A date and time typed the way the user's language writes them ("dd.mm.yyyy HH:MM" in
    az and ru), for the same reason as `LocalDateInput`; ISO is accepted too."""

    input_type = "text"

    def format_value(self, value: Any) -> str | None:
        if hasattr(value, "strftime"):
            return str(value.strftime(datetime_input_format()))
        return super().format_value(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs.setdefault("placeholder", _hint(datetime_input_format()))
        widget_attrs.setdefault("autocomplete", "off")
        return context
