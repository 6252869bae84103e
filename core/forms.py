"""Form helpers every app's dashboard forms share."""

from __future__ import annotations

from typing import Any

from django import forms


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
