"""The templates pages: both kinds listed, Sync from Meta, the editor's field errors and
content-checked example file, delete (refused while an unfinished campaign uses it)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.campaigns.models import Campaign
from messaging.content.models import MessageTemplate, WhatsAppTemplate

from .conftest import sandbox_template

pytestmark = pytest.mark.django_db


def editor_data(number, **overrides) -> dict:
    data = {
        "number": str(number.public_id),
        "name": "spring_sale",
        "language": "az",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "header_format": "",
        "body": "Salam {{1}}, the sale runs until {{2}}. Come by!",
        "body_examples": "Aysel\nSunday",
        "footer": "",
    }
    data.update(overrides)
    return data


def test_templates_page_lists_both_kinds_and_syncs_from_meta(
    member_client, workspace, connect_number, tpl_sandbox
) -> None:
    number = connect_number()
    MessageTemplate.objects.create(workspace=workspace, name="Our text", variants=["Hi!"])
    sandbox_template(tpl_sandbox, number.waba_id, "spring_sale", quality_score="RED")
    url = reverse("messaging:templates", args=[workspace.slug])
    assert "spring_sale" not in member_client.get(url).content.decode()

    synced = member_client.post(
        reverse("messaging:whatsapp_templates_sync", args=[workspace.slug, number.public_id]),
        follow=True,
    )

    html = synced.content.decode()
    assert "Synced from Meta: 2 templates (2 new, 0 changed, 0 removed)." in html
    assert "WhatsApp templates (approved by Meta)" in html
    assert "Message templates (our text)" in html
    assert "Our text" in html
    assert 'data-testid="wa-row-spring_sale-en"' in html
    row = html.split('data-testid="wa-row-spring_sale-en"')[1].split("</tr>")[0]
    assert ">Approved</span>" in row
    assert ">Low</span>" in row  # quality RED


def test_syncing_one_template_says_one_template(
    member_client, workspace, connect_number, tpl_sandbox
) -> None:
    # given: the number's business account holds one template at Meta (the sandbox seeds it)
    number = connect_number()
    sync_url = reverse("messaging:whatsapp_templates_sync", args=[workspace.slug, number.public_id])
    first = member_client.post(sync_url, follow=True).content.decode()
    assert WhatsAppTemplate.objects.filter(workspace=workspace).count() == 1
    assert "Synced from Meta: 1 template (1 new, 0 changed, 0 removed)." in first

    # when: it is synced again
    html = member_client.post(sync_url, follow=True).content.decode()

    # then: one template, in the singular
    assert "Synced from Meta: 1 template (0 new, 0 changed, 0 removed)." in html
    assert "1 templates" not in html


def test_editor_shows_metas_rules_as_field_errors_and_submits_nothing(
    member_client, workspace, connect_number, tpl_sandbox
) -> None:
    number = connect_number()
    url = reverse("messaging:whatsapp_template_create", args=[workspace.slug])

    answer = member_client.post(
        url,
        editor_data(
            number,
            name="Spring Sale",
            body="{{1}} and {{3}}",
            header_format="TEXT",
            header_text="x" * 61,
            footer="f" * 61,
            button_1_type="URL",
            button_1_text="Shop",
            button_1_value="https://x.az/{{1}}",
        ),
    )

    assert answer.status_code == 200
    form = answer.context["form"]
    assert "lowercase letters, digits and underscores" in form.errors["name"][0]
    assert form.errors["body"] == [
        "Number the variables in order without gaps: {{1}}, {{2}}, {{3}}, ..."
    ]
    assert form.errors["header_format"] == ["At most 60 characters (this has 61)."]
    assert form.errors["footer"] == ["At most 60 characters (this has 61)."]
    assert answer.context["button_errors"] == [
        "Button 1: give an example of the address's dynamic part."
    ]
    assert not WhatsAppTemplate.objects.exists()
    names = [t["name"] for t in tpl_sandbox.call("GET", "/_sandbox/templates").body]
    assert names == ["isend_welcome"]


def test_editor_checks_the_example_file_by_its_content(
    member_client, workspace, connect_number, tpl_sandbox
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    number = connect_number()
    fake_image = SimpleUploadedFile("photo.png", b"#!/bin/sh\necho not an image\n", "image/png")

    answer = member_client.post(
        reverse("messaging:whatsapp_template_create", args=[workspace.slug]),
        {**editor_data(number, header_format="IMAGE"), "header_file": fake_image},
    )

    assert answer.status_code == 200
    assert answer.context["form"].errors["header_file"] == [
        "Upload a JPEG or PNG image, an MP4 video or a PDF document that matches the header."
    ]
    assert not WhatsAppTemplate.objects.exists()


def test_editor_submits_and_shows_pending(member_client, workspace, connect_number, tpl_sandbox):
    number = connect_number()

    answer = member_client.post(
        reverse("messaging:whatsapp_template_create", args=[workspace.slug]),
        editor_data(
            number,
            button_1_type="QUICK_REPLY",
            button_1_text="Stop",
            button_2_type="COPY_CODE",
            button_2_value="SPRING10",
        ),
        follow=True,
    )

    html = answer.content.decode()
    assert "Template submitted to Meta for review." in html
    assert ">Pending review</span>" in html
    template = WhatsAppTemplate.objects.get(workspace=workspace, name="spring_sale")
    assert template.components == [
        {
            "type": "BODY",
            "text": "Salam {{1}}, the sale runs until {{2}}. Come by!",
            "example": {"body_text": [["Aysel", "Sunday"]]},
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "COPY_CODE", "example": "SPRING10"},
            ],
        },
    ]
    assert "body {{1}}" in html  # the slots a send fills


def test_delete_from_the_page(member_client, workspace, connect_number, tpl_sandbox) -> None:
    number = connect_number()
    sandbox_template(tpl_sandbox, number.waba_id, "old_offer")
    member_client.post(
        reverse("messaging:whatsapp_templates_sync", args=[workspace.slug, number.public_id])
    )
    template = WhatsAppTemplate.objects.get(workspace=workspace, name="old_offer")

    answer = member_client.post(
        reverse("messaging:whatsapp_template_delete", args=[workspace.slug, template.public_id]),
        follow=True,
    )

    assert "Template deleted at Meta and here." in answer.content.decode()
    assert not WhatsAppTemplate.objects.filter(pk=template.pk).exists()
    names = [t["name"] for t in tpl_sandbox.call("GET", "/_sandbox/templates").body]
    assert "old_offer" not in names


@pytest.mark.skipif(
    not any(f.name == "whatsapp_template" for f in Campaign._meta.get_fields()),
    reason="campaigns refer to WhatsApp templates once the campaign side (tplsend) is merged",
)
def test_delete_is_refused_while_an_unfinished_campaign_uses_it(
    member_client, workspace, connect_number, tpl_sandbox
) -> None:
    number = connect_number()
    sandbox_template(tpl_sandbox, number.waba_id, "in_use")
    member_client.post(
        reverse("messaging:whatsapp_templates_sync", args=[workspace.slug, number.public_id])
    )
    template = WhatsAppTemplate.objects.get(workspace=workspace, name="in_use")
    campaign = Campaign.objects.create(
        workspace=workspace, name="Spring", whatsapp_template=template, status="running"
    )
    url = reverse("messaging:whatsapp_template_delete", args=[workspace.slug, template.public_id])

    refused = member_client.post(url, follow=True)

    assert "A campaign that is not finished uses this template." in refused.content.decode()
    assert WhatsAppTemplate.objects.filter(pk=template.pk).exists()
    assert "in_use" in [t["name"] for t in tpl_sandbox.call("GET", "/_sandbox/templates").body]

    # finished: deleting is allowed; the campaign keeps its history (the row stays, DELETED)
    Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    member_client.post(url)
    template.refresh_from_db()
    assert template.status == WhatsAppTemplate.Status.DELETED
    assert "in_use" not in [t["name"] for t in tpl_sandbox.call("GET", "/_sandbox/templates").body]


def test_staff_see_templates_in_admin_read_only(admin_client, workspace) -> None:
    template = WhatsAppTemplate.objects.create(
        workspace=workspace, waba_id="W1", name="spring_sale", language="az"
    )

    listing = admin_client.get(reverse("admin:messaging_whatsapptemplate_changelist"))
    detail = admin_client.get(
        reverse("admin:messaging_whatsapptemplate_change", args=[template.pk])
    )

    assert listing.status_code == 200
    assert "spring_sale" in listing.content.decode()
    assert detail.status_code == 200
    assert admin_client.get(reverse("admin:messaging_whatsapptemplate_add")).status_code == 403
