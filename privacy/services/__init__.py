"""Every write of the privacy app: consents and policy acceptance, restriction, data requests,
exports, account deletion and purge, recipient erasure and the retention jobs. Modules by
topic, re-exported here so callers write `from privacy import services` and then
`services.account_erase(...)`.

Each service is one transaction and writes its AuditEvent inside it (the record and the change
commit together). E-mails and tasks go out on commit. Other apps' data is reached only through
their privacy doors (`privacy.registry`)."""

from privacy.services.consents import (
    COOKIE_NAME,
    MATERIAL_CHANGE_NOTICE,
    UNSUBSCRIBE_SALT,
    consent_record_signup,
    consent_set,
    cookie_consent_record,
    marketing_unsubscribe,
    marketing_unsubscribe_headers,
    marketing_unsubscribe_url,
    policy_accept_pending,
    policy_notice_is_short,
    policy_publish,
    policy_translations_publish_from_files,
)
from privacy.services.deactivation import (
    DEACTIVATION_GRACE,
    REACTIVATION_SALT,
    account_deactivate,
    account_reactivate,
    reactivation_token,
)
from privacy.services.erasure import (
    account_ensure_staff_may_act,
    account_erase,
    account_erase_by_id,
    account_flag_minor,
    accounts_purge_due,
)
from privacy.services.export import (
    EXPORT_TTL,
    export_build_step,
    export_fail,
    export_file_for_download,
    export_request,
    exports_purge_expired,
)
from privacy.services.fulfilment import (
    data_request_apply_restriction,
    data_request_approve_erasure,
    data_request_build_export,
    data_request_execute_erasure,
    data_request_propose_erasure,
    erasure_asked_by_owner,
)
from privacy.services.identifiers import subject_hash
from privacy.services.profile import privacy_profile_get, processing_lift, processing_restrict
from privacy.services.recipients import recipient_erase, recipient_phone
from privacy.services.requests import (
    AUTHORITY_REQUEST_DUE,
    CONFIRMATION_RESEND_AFTER,
    CONFIRMATION_TTL,
    REQUEST_DUE,
    data_request_complete,
    data_request_confirm,
    data_request_create,
    data_request_find_by_token,
    data_request_reject,
    data_request_withdraw_erasure,
    deletion_request_by_email,
)
from privacy.services.retention import (
    AUDIT_EVENT_RETENTION,
    LOGIN_EVENT_RETENTION,
    audit_events_purge,
    login_events_purge,
    message_bodies_purge,
)

__all__ = [
    "AUDIT_EVENT_RETENTION",
    "AUTHORITY_REQUEST_DUE",
    "CONFIRMATION_RESEND_AFTER",
    "CONFIRMATION_TTL",
    "COOKIE_NAME",
    "DEACTIVATION_GRACE",
    "EXPORT_TTL",
    "LOGIN_EVENT_RETENTION",
    "MATERIAL_CHANGE_NOTICE",
    "REACTIVATION_SALT",
    "REQUEST_DUE",
    "UNSUBSCRIBE_SALT",
    "account_deactivate",
    "account_erase",
    "account_erase_by_id",
    "account_flag_minor",
    "account_reactivate",
    "accounts_purge_due",
    "audit_events_purge",
    "consent_record_signup",
    "consent_set",
    "cookie_consent_record",
    "data_request_apply_restriction",
    "data_request_build_export",
    "data_request_complete",
    "data_request_confirm",
    "data_request_create",
    "data_request_execute_erasure",
    "data_request_propose_erasure",
    "data_request_approve_erasure",
    "erasure_asked_by_owner",
    "account_ensure_staff_may_act",
    "data_request_find_by_token",
    "data_request_reject",
    "data_request_withdraw_erasure",
    "deletion_request_by_email",
    "export_build_step",
    "export_fail",
    "export_file_for_download",
    "export_request",
    "exports_purge_expired",
    "login_events_purge",
    "marketing_unsubscribe",
    "marketing_unsubscribe_headers",
    "marketing_unsubscribe_url",
    "message_bodies_purge",
    "policy_accept_pending",
    "policy_notice_is_short",
    "policy_publish",
    "policy_translations_publish_from_files",
    "privacy_profile_get",
    "processing_lift",
    "processing_restrict",
    "reactivation_token",
    "recipient_erase",
    "recipient_phone",
    "subject_hash",
]
