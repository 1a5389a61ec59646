"""Microsoft's published Teams delivery limits, in one table.

The runner's throttle paces sends by these numbers and the sandbox enforces the entries marked
``enforced=True``, so the two never drift.
Microsoft marks every limit "subject to change"; the ``source`` of each entry
says where the number comes from (see docs/sandbox.md and TEAMS_FACTS.md).

Source abbreviations:

* MGD -- microsoftgraph/microsoft-graph-docs-contrib (learn.microsoft.com/graph)
* MTD -- MicrosoftDocs/msteams-docs ``msteams-platform/``
  (learn.microsoft.com/microsoftteams/platform)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Limit",
    "MICROSOFT_LIMITS",
    "BOT_MESSAGE_MAX_BYTES",
    "BOT_MESSAGE_ADVISED_BYTES",
    "WEBHOOK_MAX_BYTES",
    "GRAPH_PREVIEW_TEXT_SHOWN_CHARS",
    "GRAPH_BULK_MAX_RECIPIENTS",
    "GRAPH_BULK_MIN_TOKEN_LIFETIME_S",
]


@dataclass(frozen=True)
class Limit:
    """One published limit: at most ``count`` requests per ``seconds``, for
    every window in ``windows``, counted per ``per`` (the key)."""

    name: str
    windows: tuple[tuple[int, float], ...]  # (count, seconds), all must hold
    per: str  # what the counter is keyed on
    applies_to: str  # the operation(s) counted
    source: str
    enforced: bool  # whether the sandbox enforces it
    note: str = ""

    @property
    def sustained_rps(self) -> float:
        """The tightest long-run rate the windows allow (requests/second)."""
        return min(count / seconds for count, seconds in self.windows)


def _limits(*items: Limit) -> dict[str, Limit]:
    return {item.name: item for item in items}


MICROSOFT_LIMITS: dict[str, Limit] = _limits(
    # --- Microsoft Graph, activity feed ------------------------------------
    Limit(
        name="graph.activity_feed.per_app_per_tenant",
        windows=((5, 1.0),),
        per="app (client id) + tenant",
        applies_to="POST users/{id}/teamwork/sendActivityNotification, "
        "chats/{id}/sendActivityNotification, teams/{id}/sendActivityNotification",
        source="MGD concepts/throttling-limits.md, Teams service limits",
        enforced=True,
    ),
    Limit(
        name="graph.activity_feed.per_app",
        windows=((50, 1.0),),
        per="app (client id), across all tenants",
        applies_to="the three single sendActivityNotification endpoints",
        source="MGD concepts/throttling-limits.md, Teams service limits",
        enforced=True,
    ),
    Limit(
        name="graph.activity_feed_bulk.per_app_per_tenant",
        windows=((2, 1.0),),
        per="app (client id) + tenant",
        applies_to="POST teamwork/sendActivityNotificationToRecipients",
        source="MGD concepts/throttling-limits.md, Teams service limits",
        enforced=True,
    ),
    Limit(
        name="graph.activity_feed_bulk.per_app",
        windows=((20, 1.0),),
        per="app (client id), across all tenants",
        applies_to="POST teamwork/sendActivityNotificationToRecipients",
        source="MGD concepts/throttling-limits.md, Teams service limits",
        enforced=True,
    ),
    Limit(
        name="graph.activity_feed.per_user_guidance",
        windows=((10, 60.0),),
        per="recipient user",
        applies_to="activity feed notifications to one user",
        source="MGD concepts/teams-activity-feed-notifications-best-practices.md",
        enforced=False,
        note="guidance ('automatically throttled'), not a documented 429 limit",
    ),
    Limit(
        name="graph.teams.per_app_per_team_or_channel",
        windows=((4, 1.0),),
        per="app + team or channel",
        applies_to="Teams Graph calls on one team or channel",
        source="MGD concepts/throttling-limits.md, Teams service limits",
        enforced=False,
    ),
    Limit(
        name="graph.global.per_app",
        windows=((130_000, 10.0),),
        per="app (client id), across all tenants",
        applies_to="every Microsoft Graph request",
        source="learn.microsoft.com/graph/throttling-limits (2025 revision; older: 2,000 rps)",
        enforced=False,
    ),
    # --- Bot Framework connector -------------------------------------------
    Limit(
        name="bot.send.per_bot_per_conversation",
        windows=((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0)),
        per="bot app id + conversation (thread)",
        applies_to="POST {serviceUrl}/v3/conversations/{id}/activities (send, reply, create)",
        source="MTD bots/how-to/rate-limit.md",
        enforced=True,
    ),
    Limit(
        name="bot.send.all_bots_per_conversation",
        windows=((14, 1.0), (16, 2.0)),
        per="conversation (thread), all bots together",
        applies_to="send or create conversation",
        source="MTD bots/how-to/rate-limit.md",
        enforced=True,
    ),
    Limit(
        name="bot.per_app_per_tenant",
        windows=((50, 1.0),),
        per="bot app id + tenant",
        applies_to="every connector call",
        source="MTD bots/how-to/rate-limit.md (an older revision said 30)",
        enforced=True,
    ),
    Limit(
        name="bot.read.per_bot_per_conversation",
        windows=((14, 1.0), (16, 2.0), (120, 30.0), (3600, 3600.0)),
        per="bot app id + conversation (thread)",
        applies_to="get members / get conversations",
        source="MTD bots/how-to/rate-limit.md",
        enforced=False,
        note="the sandbox does not serve read operations",
    ),
    # --- Webhooks -----------------------------------------------------------
    Limit(
        name="webhook.per_url",
        windows=((4, 1.0),),
        per="webhook URL",
        applies_to="POST to an incoming webhook / Workflows URL",
        source="MTD webhooks-and-connectors/how-to/add-incoming-webhook.md",
        enforced=True,
        note="a limit specific to Workflows URLs is unconfirmed",
    ),
    Limit(
        name="webhook.legacy_connector.per_url",
        windows=((4, 1.0), (60, 30.0), (100, 3600.0), (150, 7200.0), (1800, 86400.0)),
        per="connector webhook URL",
        applies_to="legacy Office 365 connector webhooks",
        source="MTD webhooks-and-connectors/how-to/connectors-using.md (older), 'Rate limiting for connectors'",
        enforced=False,
        note="legacy connectors are retiring; the sandbox serves Workflows URLs only",
    ),
)

#: Bot message size limit (approximate; Microsoft counts UTF-16). Over it: 413
#: MessageSizeTooBig. [MTD bots/how-to/includes/agent-message-size-limit.md]
BOT_MESSAGE_MAX_BYTES = 100 * 1024
#: Microsoft advises staying at or below this. [same]
BOT_MESSAGE_ADVISED_BYTES = 80 * 1024
#: Incoming webhook / Workflows payload limit. [MTD add-incoming-webhook.md]
WEBHOOK_MAX_BYTES = 28 * 1024
#: Teams shows only this many characters of ``previewText``. [MGD]
GRAPH_PREVIEW_TEXT_SHOWN_CHARS = 150
#: sendActivityNotificationToRecipients accepts at most this many recipients. [MGD]
GRAPH_BULK_MAX_RECIPIENTS = 100
#: ... and needs a token with at least this much life left (else 412). [MGD]
GRAPH_BULK_MIN_TOKEN_LIFETIME_S = 45 * 60
