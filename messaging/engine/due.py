"""Which messages a drainer may send now on a number: one definition, read as walks of the
due index, for the claim, the drainer's "more to do?", the tick's kicks and /healthz.

The due index (`message_due_by_campaign`: number, campaign, priority, due time; queued rows
only) is read in walks that each stop after what they need: one per priority for single
sends (no campaign), and one per priority for each *running* campaign with messages queued on
the number. Those campaigns are found by a skip scan of the same index (one probe per
campaign), so a paused campaign's queue is never read.

Before, one walk per priority over (number, priority, due time) filtered on "campaign
running": a number shared by a paused campaign and a running one read every due message of
the paused one at each claim (all of them, since a paused campaign's messages stay due). And
a number whose only queued messages were a paused campaign's made the drainer claim nothing,
see due messages, and re-queue itself at once, forever: a dispatch thread spinning on Postgres
for as long as the campaign stayed paused."""

from __future__ import annotations

from accounts.models import Workspace
from messaging.campaigns.models import MESSAGE_PRIORITIES, Campaign, Message
from messaging.engine.windows import WINDOW_OPENS_SQL

#: (priority, rank) rows, highest priority first: the order the walks are merged in.
_PRIORITIES_SQL = (
    "(VALUES "
    + ", ".join(f"({int(priority)}, {rank})" for rank, priority in enumerate(MESSAGE_PRIORITIES))
    + ") AS p(priority, rank)"
)


def due_walks_sql(
    *, sender: str, limit: str, when: str, condition: str = "TRUE", lock: bool = False
) -> str:
    """A SELECT of (rank, id, campaign_id, contact_id, workspace_id, next_attempt_at, opens):
    `opens` is the next opening of the message's send window (`WINDOW_OPENS_SQL`). Up to
    `limit` due messages of each walk on number `sender`, unordered across walks (order by
    rank, next_attempt_at to merge them). Nothing of a suspended workspace.

    `sender`, `limit` and `when` (due at or before) are SQL expressions: placeholders, or an
    outer query's column (the SELECT is then a correlated subquery, one per number).
    `condition` filters each walk over the aliases m (message), c (campaign), ct (contact) and
    w (workspace). Run with `SET LOCAL enable_sort = off`: with stale statistics the planner
    otherwise sorts a walk's whole range instead of walking the index in its order.

    `lock` locks each row a walk returns (FOR UPDATE SKIP LOCKED): a walk steps past rows
    another claim holds and goes on to the next, so claims racing on one number take
    different batches. Each walk locks up to `limit` rows; those the merge leaves out stay
    locked only until the claim's transaction ends."""
    table, campaigns = Message._meta.db_table, Campaign._meta.db_table
    suspended = Workspace.Status.SUSPENDED.value

    def walk(campaign: str) -> str:
        # ORDER BY is the due index's own order, which no other index gives: equal number,
        # campaign and priority leave the due time, so the walk reads the range from its
        # oldest and stops after `limit`.
        return f"""
            SELECT m.id, m.campaign_id, m.contact_id, m.workspace_id, m.next_attempt_at,
                   {WINDOW_OPENS_SQL} AS opens
              FROM {table} m
              LEFT JOIN {campaigns} c ON c.id = m.campaign_id
              LEFT JOIN messaging_contact ct ON ct.id = m.contact_id
              JOIN accounts_workspace w ON w.id = m.workspace_id
             WHERE m.sender_id = {sender} AND m.indexed_status = 'queued'
               AND m.campaign_id {campaign} AND m.priority = p.priority
               AND m.next_attempt_at <= {when}
               AND w.status <> '{suspended}' AND ({condition})
             ORDER BY m.sender_id, m.campaign_id, m.priority DESC, m.next_attempt_at
             LIMIT {limit}
             {"FOR UPDATE OF m SKIP LOCKED" if lock else ""}"""  # noqa: S608 # nosec B608 # own table names, SQL expressions

    # The skip scan's probes order by (number, campaign) too: ordered by the campaign alone,
    # the campaigns' own index (campaign, status) also fits, and with statistics that saw one
    # number hold most messages the planner took it and read every number's queued messages.
    # A running campaign of a suspended workspace (a scheduled one started meanwhile) is left
    # out here, before its walk would read its whole due range and drop every row.
    return f"""
        WITH RECURSIVE queued_campaigns(id) AS (
            (SELECT m.campaign_id FROM {table} m
              WHERE m.sender_id = {sender} AND m.indexed_status = 'queued'
                AND m.campaign_id IS NOT NULL
              ORDER BY m.sender_id, m.campaign_id LIMIT 1)
            UNION ALL
            SELECT (SELECT m.campaign_id FROM {table} m
                     WHERE m.sender_id = {sender} AND m.indexed_status = 'queued'
                       AND m.campaign_id > q.id
                     ORDER BY m.sender_id, m.campaign_id LIMIT 1)
              FROM queued_campaigns q WHERE q.id IS NOT NULL
        )
        SELECT p.rank, d.* FROM {_PRIORITIES_SQL}
         CROSS JOIN LATERAL ({walk("IS NULL")}) d
        UNION ALL
        SELECT p.rank, d.* FROM {_PRIORITIES_SQL}
         CROSS JOIN queued_campaigns q
          JOIN {campaigns} running ON running.id = q.id AND running.status = 'running'
          JOIN accounts_workspace rw ON rw.id = running.workspace_id AND rw.status <> '{suspended}'
         CROSS JOIN LATERAL ({walk("= q.id")}) d"""  # noqa: S608 # nosec B608 # own table names
