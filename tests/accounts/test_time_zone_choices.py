"""The workspace settings' time zones are places a person would pick."""

from __future__ import annotations


def test_the_time_zone_list_holds_places_not_system_aliases() -> None:
    """ "localtime" (the server's own zone) was offered and accepted as a workspace's zone."""
    from accounts.forms import WorkspaceSettingsForm

    zones = {value for value, _label in WorkspaceSettingsForm.base_fields["time_zone"].choices}

    assert {"Asia/Baku", "Europe/Moscow", "UTC"} <= zones
    assert not {"localtime", "posixrules", "Etc/GMT+4", "US/Eastern"} & zones
