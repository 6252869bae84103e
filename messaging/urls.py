"""The `messaging` URL namespace: contacts, imports and template pages, all under
/w/<workspace_slug>/ (the tenancy gate). Each sub-domain keeps its own routes; numbers,
campaigns and analytics have namespaces of their own (isend/urls.py)."""

from messaging.contacts.urls import urlpatterns as contacts_urlpatterns
from messaging.content.urls import urlpatterns as content_urlpatterns
from messaging.imports.urls import urlpatterns as imports_urlpatterns

app_name = "messaging"

urlpatterns = [*contacts_urlpatterns, *imports_urlpatterns, *content_urlpatterns]
