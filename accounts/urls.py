from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("account/profile/", views.profile, name="profile"),
    path("account/sessions/", views.sessions, name="sessions"),
    path(
        "account/sessions/sign-out-others/",
        views.sessions_sign_out_others,
        name="sessions_sign_out_others",
    ),
    path(
        "account/sessions/<uuid:session_id>/sign-out/",
        views.session_sign_out,
        name="session_sign_out",
    ),
    path("account/sessions/<uuid:session_id>/not-me/", views.session_not_me, name="session_not_me"),
    path("account/security/not-me/<str:token>/", views.security_not_me, name="security_not_me"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("w/<slug:workspace_slug>/team/", views.team, name="team"),
    path("w/<slug:workspace_slug>/team/invite/", views.team_invite, name="team_invite"),
    path(
        "w/<slug:workspace_slug>/team/members/<int:membership_id>/role/",
        views.team_change_role,
        name="team_change_role",
    ),
    path(
        "w/<slug:workspace_slug>/team/members/<int:membership_id>/remove/",
        views.team_remove,
        name="team_remove",
    ),
    path(
        "w/<slug:workspace_slug>/team/invitations/<uuid:invitation_id>/revoke/",
        views.team_revoke_invitation,
        name="team_revoke_invitation",
    ),
    path("w/<slug:workspace_slug>/developers/", views.developers, name="developers"),
    path(
        "w/<slug:workspace_slug>/developers/keys/<uuid:api_key_id>/revoke/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
    path("w/<slug:workspace_slug>/settings/", views.workspace_settings, name="settings"),
    path("w/<slug:workspace_slug>/activity/", views.activity, name="activity"),
    path("w/<slug:workspace_slug>/notifications/", views.notifications, name="notifications"),
]
