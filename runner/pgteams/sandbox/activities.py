"""Realistic inbound Bot Framework activities, as Teams posts them to a bot's messaging endpoint.

The other direction of the sandbox: ``Sandbox.post_activity(endpoint_url, activity, bot_app_id=…)``
signs a Bot Framework style JWT with the sandbox's key and POSTs one of these to an endpoint such
as ``pgteams serve``. Shapes follow the Bot Framework activity schema and the Teams examples
(TEAMS_FACTS §2, §5): ``serviceUrl``, ``channelId`` ``msteams``, ``from`` with ``aadObjectId``,
``recipient`` ``28:<bot app id>``, ``conversation`` with ``conversationType`` and ``tenantId``,
``channelData.tenant.id``; removals as ``conversationUpdate.membersRemoved`` holding the bot
(``channelData.eventType`` ``teamMemberRemoved`` in a team) or ``installationUpdate`` ``remove``;
card actions as the ``invoke`` named ``adaptiveCard/action``.

Timestamps are UTC with milliseconds and strictly increase within the process, so activities
built one after another are ordered the way they were built (pgteams orders by them).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["TeamsUser", "InboundConversation", "next_timestamp"]

_clock_lock = threading.Lock()
_last_ms = 0
_ids = itertools.count(1)


def next_timestamp() -> str:
    """Now, in UTC with milliseconds ('2025-01-10T10:01:00.123Z'), later than the previous call."""
    global _last_ms
    with _clock_lock:
        now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
        _last_ms = max(now_ms, _last_ms + 1)
        ms = _last_ms
    ts = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True)
class TeamsUser:
    """A Teams user: Entra object id, display name, and the per-bot ``29:`` id."""

    aad_object_id: str
    name: str = "Sandbox User"
    teams_id: Optional[str] = None

    @property
    def id(self) -> str:
        return self.teams_id or f"29:1{self.aad_object_id.replace('-', '')[:24]}"

    def account(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}


@dataclass
class InboundConversation:
    """One conversation as Teams sees it, building the activities it would send to the bot."""

    service_url: str
    aad_tenant_id: str
    conversation_id: str
    bot_app_id: str
    conversation_type: str = "personal"
    bot_name: str = "pgteams bot"
    locale: str = "en-US"
    team_id: Optional[str] = None
    channel_id: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bot_id(self) -> str:
        return f"28:{self.bot_app_id}"

    def _base(self, kind: str, user: TeamsUser, activity_id: Optional[str] = None) -> dict[str, Any]:
        conversation: dict[str, Any] = {"conversationType": self.conversation_type, "tenantId": self.aad_tenant_id,
                                        "id": self.conversation_id}
        if self.conversation_type != "personal":
            conversation["isGroup"] = True
        channel_data: dict[str, Any] = {"tenant": {"id": self.aad_tenant_id}}
        if self.conversation_type == "channel":
            team = self.team_id or self.conversation_id.split(";")[0]
            channel = self.channel_id or self.conversation_id.split(";")[0]
            channel_data.update({"teamsTeamId": team, "teamsChannelId": channel,
                                 "team": {"id": team}, "channel": {"id": channel}})
        ts = next_timestamp()
        activity = {
            "type": kind,
            "id": activity_id or f"{int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)}{next(_ids):04d}",
            "timestamp": ts,
            "localTimestamp": ts,
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": user.account(),
            "conversation": conversation,
            "recipient": {"id": self.bot_id, "name": self.bot_name},
            "locale": self.locale,
            "channelData": channel_data,
        }
        activity.update(self.extra)
        return activity

    # ------------------------------------------------------------------ activities
    def message(self, user: TeamsUser, text: str = "hi", *, value: Optional[dict[str, Any]] = None,
                activity_id: Optional[str] = None) -> dict[str, Any]:
        """A message from the user (with ``value`` when it is an Action.Submit of a card)."""
        a = self._base("message", user, activity_id)
        a.update({"textFormat": "plain", "text": text,
                  "entities": [{"type": "clientInfo", "locale": self.locale, "country": "US", "platform": "Web",
                                "timezone": "Europe/London"}]})
        if value is not None:
            a["value"] = value
        return a

    def members_added(self, user: TeamsUser, *, bot: bool = True,
                      members: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
        """conversationUpdate: the bot (installed, added to the team/chat) or ``members`` joined."""
        a = self._base("conversationUpdate", user)
        a["membersAdded"] = list(members or []) + ([{"id": self.bot_id}] if bot else [])
        if self.conversation_type == "channel":
            a["channelData"]["eventType"] = "teamMemberAdded"
        return a

    def members_removed(self, user: TeamsUser, *, bot: bool = True,
                        members: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
        """conversationUpdate: the bot (uninstalled, removed) or ``members`` left."""
        a = self._base("conversationUpdate", user)
        a["membersRemoved"] = list(members or []) + ([{"id": self.bot_id}] if bot else [])
        if self.conversation_type == "channel":
            a["channelData"]["eventType"] = "teamMemberRemoved"
        return a

    def installation_update(self, user: TeamsUser, action: str = "add") -> dict[str, Any]:
        """installationUpdate with ``action`` add, remove, add-upgrade or remove-upgrade."""
        if action not in ("add", "remove", "add-upgrade", "remove-upgrade"):
            raise ValueError("action must be add, remove, add-upgrade or remove-upgrade")
        a = self._base("installationUpdate", user)
        a["action"] = action
        if self.conversation_type == "channel":
            a["channelData"]["settings"] = {"selectedChannel": {"id": self.channel_id or self.conversation_id}}
        return a

    def card_action(self, user: TeamsUser, verb: str, data: Optional[dict[str, Any]] = None, *,
                    reply_to_id: Optional[str] = None, activity_id: Optional[str] = None) -> dict[str, Any]:
        """The invoke Teams sends when the user presses an Action.Execute button."""
        a = self._base("invoke", user, activity_id or f"f:{uuid.uuid4().int % 10**19}")
        a["name"] = "adaptiveCard/action"
        a["value"] = {"action": {"type": "Action.Execute", "id": uuid.uuid4().hex[:8], "verb": verb,
                                 "data": dict(data or {})},
                      "trigger": "manual"}
        if reply_to_id is not None:
            a["replyToId"] = reply_to_id
        return a

    def press(self, user: TeamsUser, card: dict[str, Any], verb: str, **kwargs: Any) -> dict[str, Any]:
        """The invoke for pressing the card's ``Action.Execute`` with this verb (its data as is)."""
        from ..host.cards import find_execute_action

        action = find_execute_action(card, verb)
        if action is None:
            raise KeyError(f"the card has no Action.Execute with verb {verb!r}")
        return self.card_action(user, verb, action.get("data") or {}, **kwargs)
