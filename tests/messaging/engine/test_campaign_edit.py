"""A draft can be edited until it is launched: its page offers "Edit draft", the builder opens
with what the draft says (and keeps what it has no field for), saving rewrites the draft with
the checks of creation, and a launched campaign refuses the edit, even one racing the launch."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign
from messaging.campaigns.views import CampaignForm, campaign_form_initial
from messaging.contacts.models import Contact, ContactList
from messaging.content.models import WhatsAppTemplate
from messaging.numbers.models import Sender

from .test_whatsapp_campaigns import PNG, VARIABLES, approved_sale

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def number(workspace) -> Sender:
    return Sender.objects.create(
        workspace=workspace, provider="sandbox", status="active", phone_number="+994500000001"
    )


@pytest.fixture
def sale(workspace) -> WhatsAppTemplate:
    return approved_sale(workspace)


def _form_post(campaign: Campaign, **changes: object) -> dict[str, object]:
    """What the edit page's form submits untouched (its rendered values), with `changes`."""
    form = CampaignForm(initial=campaign_form_initial(campaign), workspace=campaign.workspace)
    data: dict[str, object] = {}
    for bound in form:
        value = bound.value()
        if value is None or bound.name == "header_media_file":
            continue
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M")
        data[bound.name] = value
    data.update(changes)
    return data


def test_a_draft_saved_unchanged_through_its_edit_page_keeps_every_setting(
    workspace, owner, member_client, number, template
) -> None:
    # given: a draft with a list, tags, a schedule, a window and a custom pace
    vip = ContactList.objects.create(workspace=workspace, name="VIP")
    zone = ZoneInfo(workspace.time_zone)
    soon = (timezone.now() + timedelta(days=60)).date()  # schedules are taken within a year
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Novruz",
        template=template,
        senders=[number],
        audience={"list_id": str(vip.public_id), "tags_any": ["baku"], "tags_none": ["stop"]},
        scheduled_at=datetime(soon.year, soon.month, soon.day, 10, 46, tzinfo=zone),
        expires_at=datetime(soon.year, soon.month, soon.day, 20, 0, tzinfo=zone),
        send_window={"start": 9, "end": 21, "days": [0, 1, 2, 3, 4]},
        pacing={"preset": "custom", "per_second": 2, "batch_size": 100, "batch_pause_seconds": 60},
    )
    before = Campaign.objects.get(pk=draft.pk)
    url = reverse("messaging_campaigns:edit", args=[workspace.slug, draft.public_id])

    # when: its page links to the edit page, which is submitted with only a new name
    detail = member_client.get(
        reverse("messaging_campaigns:detail", args=[workspace.slug, draft.public_id])
    ).content.decode()
    assert url in detail
    page = member_client.get(url).content.decode()
    assert "Edit draft “Novruz”" in page
    assert f'value="{soon:%Y-%m-%d}T10:46"' in page  # the workspace's time, as it was typed
    answer = member_client.post(url, _form_post(draft, name="Novruz bayramı"), follow=True)

    # then: the name changed, nothing else did, and the edit is audited
    assert "Draft “Novruz bayramı” saved." in answer.content.decode()
    after = Campaign.objects.get(pk=draft.pk)
    assert after.name == "Novruz bayramı"
    for name in ("template_id", "audience", "scheduled_at", "expires_at", "send_window", "pacing"):
        assert getattr(after, name) == getattr(before, name), name
    assert list(after.senders.all()) == [number]
    assert after.status == Campaign.Status.DRAFT
    assert AuditEvent.objects.filter(workspace=workspace, action="campaign.edited").count() == 1


def test_an_edit_is_checked_as_a_new_draft_and_a_refused_one_changes_nothing(
    workspace, owner, member_client, number, template
) -> None:
    draft = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Trial", template=template, senders=[number],
        audience={},
    )  # fmt: skip
    url = reverse("messaging_campaigns:edit", args=[workspace.slug, draft.public_id])

    answer = member_client.post(
        url, _form_post(draft, name="Changed", window_start="21", window_end="9")
    )

    assert answer.status_code == 200
    assert "The window must end after it starts." in answer.content.decode()
    assert Campaign.objects.get(pk=draft.pk).name == "Trial"


def test_filters_the_builder_has_no_field_for_are_kept_through_an_edit(
    workspace, owner, member_client, number, template
) -> None:
    # given: a draft made through the API with a search and an attribute filter
    Contact.objects.create(workspace=workspace, phone="+994501112233", first_name="Aysel",
                           attributes={"city": "Ganja"})  # fmt: skip
    Contact.objects.create(workspace=workspace, phone="+994501112244", first_name="Aysel",
                           attributes={"city": "Baku"})  # fmt: skip
    audience = {"search": "Aysel", "attributes": {"city": "Ganja"}}
    draft = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="API draft", template=template,
        senders=[number], audience=audience,
    )  # fmt: skip
    url = reverse("messaging_campaigns:edit", args=[workspace.slug, draft.public_id])

    # when: its edit page is opened and saved with a tag added
    page = member_client.get(url).content.decode()
    member_client.post(url, _form_post(draft, tags_none="stop"))

    # then: the page said they are kept, and they are, beside the new tag
    assert 'data-testid="audience-extra"' in page
    stored = Campaign.objects.get(pk=draft.pk).audience
    assert stored["search"] == "Aysel"
    assert stored["attributes"] == {"city": "Ganja"}
    assert stored["tags_none"] == ["stop"]
    assert (
        campaigns.campaign_preflight(campaign=Campaign.objects.get(pk=draft.pk))["reachable"] == 1
    )


def test_a_template_drafts_header_file_is_kept_unless_a_new_one_is_given(
    workspace, owner, number, sale
) -> None:
    draft = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Spring sale",
        whatsapp_template=sale,
        template_variables=VARIABLES,
        header_media_file=SimpleUploadedFile("sale.png", PNG, content_type="image/png"),
        senders=[number],
        audience={},
    )
    stored = draft.header_media_file.name

    kept = campaigns.campaign_draft_update(
        workspace=workspace, campaign=draft, actor=owner, name="Spring sale 2",
        whatsapp_template=sale, template_variables=VARIABLES, senders=[number], audience={},
    )  # fmt: skip
    assert (kept.header_media_file.name, kept.header_media_type) == (stored, "image/png")

    linked = campaigns.campaign_draft_update(
        workspace=workspace, campaign=draft, actor=owner, name="Spring sale 2",
        whatsapp_template=sale, template_variables=VARIABLES, senders=[number], audience={},
        header_media_url="https://cdn.example.az/sale.png",
    )  # fmt: skip
    assert not linked.header_media_file
    assert linked.header_media_url == "https://cdn.example.az/sale.png"

    # with neither a file kept nor a link, the image header is missing again
    Campaign.objects.filter(pk=draft.pk).update(header_media_url="")
    with pytest.raises(ValidationError) as refused:
        campaigns.campaign_draft_update(
            workspace=workspace, campaign=draft, actor=owner, name="Spring sale 2",
            whatsapp_template=sale, template_variables=VARIABLES, senders=[number], audience={},
        )  # fmt: skip
    assert "header_media_file" in refused.value.message_dict


def test_a_launched_campaign_is_not_edited(
    workspace, owner, member_client, number, template, credits
) -> None:
    Contact.objects.create(workspace=workspace, phone="+994501112233")
    credits(5)
    campaign = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Live", template=template, senders=[number],
        audience={},
    )  # fmt: skip
    post = _form_post(campaign, name="Changed")
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    url = reverse("messaging_campaigns:edit", args=[workspace.slug, campaign.public_id])

    page = member_client.get(url, follow=True).content.decode()
    member_client.post(url, post)

    assert "Only a draft can be edited" in page
    assert Campaign.objects.get(pk=campaign.pk).name == "Live"
    with pytest.raises(ValidationError):
        campaigns.campaign_draft_update(
            workspace=workspace, campaign=campaign, actor=owner, name="Changed",
            template=template, senders=[number], audience={},
        )  # fmt: skip


def test_another_workspaces_draft_is_not_found_on_the_edit_page(
    workspace, other_workspace, owner, member_client, template
) -> None:
    theirs = Campaign.objects.create(workspace=other_workspace, name="Theirs")

    answer = member_client.get(
        reverse("messaging_campaigns:edit", args=[workspace.slug, theirs.public_id])
    )

    assert answer.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_launch_waits_for_it_and_is_refused(
    workspace, owner, number, template, credits
) -> None:
    # given: a draft being launched: the launch holds the row until it commits
    Contact.objects.create(workspace=workspace, phone="+994501112233")
    credits(5)
    draft = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Race", template=template, senders=[number],
        audience={},
    )  # fmt: skip
    outcome: list[object] = []
    started = threading.Event()

    def edit() -> None:
        started.set()
        try:
            campaigns.campaign_draft_update(
                workspace=workspace, campaign=draft, actor=owner, name="Edited mid-launch",
                template=template, senders=[number], audience={},
            )  # fmt: skip
            outcome.append("saved")
        except ValidationError as exc:
            outcome.append(exc)
        finally:
            connection.close()

    # when: an edit starts while the launch's transaction is open
    with transaction.atomic():
        campaigns.campaign_launch(workspace=workspace, campaign=draft, actor=owner)
        editor = threading.Thread(target=edit)
        editor.start()
        started.wait(5)
        editor.join(timeout=0.5)
        waited = editor.is_alive()
    editor.join(timeout=30)

    # then: it waited for the launch, then saw a launched campaign and changed nothing
    assert waited
    assert len(outcome) == 1
    assert isinstance(outcome[0], ValidationError)
    campaign = Campaign.objects.get(pk=draft.pk)
    assert campaign.name == "Race"
    assert campaign.status != Campaign.Status.DRAFT


def test_a_draft_is_edited_over_the_api_and_a_launched_one_is_a_400(
    api_client_with_scopes, workspace, owner, number, template, credits
) -> None:
    # given: a draft made over the API, with a tag filter and a window
    Contact.objects.create(workspace=workspace, phone="+994501112233", tags=["baku"])
    Contact.objects.create(workspace=workspace, phone="+994501112244")
    credits(5)
    client = api_client_with_scopes("campaigns:write")
    created = client.post(
        reverse("api:campaign-list"),
        {
            "name": "API draft",
            "template": str(template.public_id),
            "senders": [str(number.public_id)],
            "audience": {"tags_any": ["baku"]},
            "send_window": {"start": 9, "end": 21},
        },
        format="json",
    ).json()
    url = reverse("api:campaign-detail", args=[created["id"]])

    # when: only the name and the audience are patched; then a bad pace is patched
    edited = client.patch(url, {"name": "Renamed", "audience": {}}, format="json")
    refused = client.patch(url, {"pacing": {"preset": "custom"}}, format="json")

    # then: the rest kept its values, the bad pace changed nothing
    assert edited.status_code == 200, edited.json()
    assert edited.json()["name"] == "Renamed"
    assert edited.json()["send_window"] == {"start": 9, "end": 21, "days": []}
    assert edited.json()["senders"] == [str(number.public_id)]
    assert (
        client.get(reverse("api:campaign-preflight", args=[created["id"]])).json()["reachable"] == 2
    )
    assert refused.status_code == 400
    assert "pacing" in refused.json()
    assert Campaign.objects.get(public_id=created["id"]).pacing == {}

    # and once launched, an edit is a 400 that changes nothing
    client.post(reverse("api:campaign-launch", args=[created["id"]]))
    late = client.patch(url, {"name": "Too late"}, format="json")
    assert late.status_code == 400
    assert Campaign.objects.get(public_id=created["id"]).name == "Renamed"


def test_another_workspaces_draft_is_a_404_over_the_api(
    api_client_with_scopes, other_workspace
) -> None:
    theirs = Campaign.objects.create(workspace=other_workspace, name="Theirs")
    client = api_client_with_scopes("campaigns:write")

    answer = client.patch(
        reverse("api:campaign-detail", args=[theirs.public_id]), {"name": "Mine"}, format="json"
    )

    assert answer.status_code == 404
    assert Campaign.objects.get(pk=theirs.pk).name == "Theirs"


@pytest.mark.parametrize("variables", [["first_name"], "first_name", 7])
def test_template_variables_that_are_not_an_object_are_a_400_not_a_500(
    api_client_with_scopes, workspace, number, sale, variables
) -> None:
    client = api_client_with_scopes("campaigns:write")

    answer = client.post(
        reverse("api:campaign-list"),
        {
            "name": "Bad variables",
            "whatsapp_template": str(sale.public_id),
            "template_variables": variables,
            "header_media_url": "https://cdn.example.az/sale.png",
            "senders": [str(number.public_id)],
            "audience": {},
        },
        format="json",
    )

    assert answer.status_code == 400
    assert "template_variables" in answer.json()
    assert not Campaign.objects.exists()


def test_a_schedule_beyond_a_year_is_refused_and_a_year_is_fine(
    api_client_with_scopes, workspace, number, template
) -> None:
    """A far-future start (9999-12-31) was stored and then broke the campaign's pages."""
    client = api_client_with_scopes("campaigns:write")

    def create(when: str) -> object:
        return client.post(
            reverse("api:campaign-list"),
            {
                "name": "Later",
                "template": str(template.public_id),
                "senders": [str(number.public_id)],
                "scheduled_at": when,
            },
            format="json",
        )

    far = create("9999-12-31T23:59:59Z")
    near = create((timezone.now() + timedelta(days=300)).isoformat())

    assert far.status_code == 400
    assert far.json()["scheduled_at"] == ["Choose a time within a year from now."]
    assert near.status_code == 201
    assert Campaign.objects.count() == 1


def test_a_field_the_api_does_not_have_is_a_400_naming_it(
    api_client_with_scopes, workspace, number, template
) -> None:
    """A typo in a PATCH ("nmae", "pace") changed nothing and answered 200; a contact created
    with an unknown field was created without it."""
    client = api_client_with_scopes("campaigns:write", "contacts:write")
    created = client.post(
        reverse("api:campaign-list"),
        {"name": "Typo", "template": str(template.public_id), "senders": [str(number.public_id)]},
        format="json",
    ).json()

    patched = client.patch(
        reverse("api:campaign-detail", args=[created["id"]]),
        {"nmae": "Renamed", "pace": {"preset": "safe"}},
        format="json",
    )
    echoed = client.patch(  # what a GET returned, sent back with one change: fine
        reverse("api:campaign-detail", args=[created["id"]]),
        {**created, "name": "Renamed"},
        format="json",
    )
    contact = client.post(
        reverse("api:contact-list"), {"phone": "+994501112233", "foo": "bar"}, format="json"
    )

    assert patched.status_code == 400
    assert set(patched.json()) == {"nmae", "pace"}
    assert echoed.status_code == 200, echoed.json()
    assert Campaign.objects.get(public_id=created["id"]).name == "Renamed"
    assert contact.status_code == 400
    assert "foo" in contact.json()
    assert not Contact.objects.filter(phone="+994501112233").exists()


def test_a_custom_pace_is_written_as_a_number_field_reads_it_in_every_language(
    workspace, owner, member_client, number, template
) -> None:
    """In Russian and Azerbaijani the pace showed as "2,0", which a number field cannot read:
    it came up empty, and saving the draft unchanged failed."""
    from accounts.models import User

    draft = campaigns.campaign_create(
        workspace=workspace, actor=owner, name="Pace", template=template, senders=[number],
        audience={}, pacing={"preset": "custom", "per_second": 2.5},
    )  # fmt: skip
    url = reverse("messaging_campaigns:edit", args=[workspace.slug, draft.public_id])

    for language in ("ru", "az"):
        User.objects.filter(pk=owner.pk).update(language=language)
        page = member_client.get(url).content.decode()
        assert 'name="pace_per_second" id="id_pace_per_second" value="2.5"' in page, language


def test_a_start_time_long_past_is_refused_with_a_way_out(
    api_client_with_scopes, workspace, sandbox_number, template
) -> None:
    number = sandbox_number()
    client = api_client_with_scopes("campaigns:write")

    answer = client.post(
        reverse("api:campaign-list"),
        {
            "name": "Old",
            "template": str(template.public_id),
            "senders": [str(number.public_id)],
            "scheduled_at": "2000-01-01T00:00:00Z",
        },
        format="json",
    )

    assert answer.status_code == 400
    assert "This start time has passed" in str(answer.json()["scheduled_at"])
    assert not Campaign.objects.filter(workspace=workspace).exists()
