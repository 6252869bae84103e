"""Import tasks: thin, take ids, call one service (names fixed: routing and beat use them)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from accounts.models import Workspace


class _ImportTask(Task):
    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Nothing stays "running" forever: an unexpected error marks the import failed."""
        from messaging.imports.services import contact_import_fail

        workspace = Workspace.objects.filter(pk=kwargs.get("workspace_id")).first()
        if workspace is not None:
            contact_import_fail(
                workspace=workspace,
                import_id=kwargs["import_id"],
                error=f"{type(exc).__name__}: {exc}",
            )


@shared_task(name="messaging.tasks.import_contacts_task", base=_ImportTask, acks_late=True)
def import_contacts_task(*, import_id: int, workspace_id: int) -> None:
    """Run one time slice of an import; re-queue while work remains. A redelivered message
    resumes at the cursor kept in Postgres."""
    from messaging.imports.services import contact_import_run

    workspace = Workspace.objects.get(pk=workspace_id)
    if contact_import_run(workspace=workspace, import_id=import_id):
        import_contacts_task.delay(import_id=import_id, workspace_id=workspace_id)


@shared_task(name="messaging.tasks.import_inspect_task", base=_ImportTask, acks_late=True)
def import_inspect_task(*, import_id: int, workspace_id: int) -> None:
    """Open an uploaded workbook under the caps and make the import ready for mapping (or
    failed with the reason): the upload request never unpacks a workbook (issue 17, F4)."""
    from messaging.imports.services import contact_import_inspect

    workspace = Workspace.objects.get(pk=workspace_id)
    contact_import_inspect(workspace=workspace, import_id=import_id)


@shared_task(name="messaging.tasks.import_files_purge_task")
def import_files_purge_task() -> int:
    """Daily: delete the uploaded files of imports that ended days ago (reports stay)."""
    from messaging.imports.services import contact_import_files_purge

    return contact_import_files_purge()
