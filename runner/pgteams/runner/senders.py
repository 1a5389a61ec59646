"""The three senders: Graph activity feed, Bot Framework connector, Teams Workflows webhook.

Each takes one claimed delivery (a Claim) and returns an Outcome. Senders never touch the database.
Bot tokens go only to serviceUrl hosts on the allow-list; webhook URLs (secrets) are only ever
used as request targets, never logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from urllib.parse import quote, urlsplit

import httpx

from .auth import CredentialKey, TokenError, TokenProvider
from .claim import Claim
from .classify import Outcome, classify, classify_exception
from .config import Settings, host_allowed

_GRAPH_PATHS = {
    "user_activity": "/users/{id}/teamwork/sendActivityNotification",
    "chat": "/chats/{id}/sendActivityNotification",
    "channel": "/teams/{id}/sendActivityNotification",      # Graph for a channel: the team id
}


def _refused(code: str, message: str) -> Outcome:
    return Outcome(status="failed", error_code=code, error_message=message)


def _url_ok(url: str | None, allowed: tuple[str, ...]) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "https" and not parts.username and host_allowed(parts.hostname, port, allowed)


class Senders:
    def __init__(self, settings: Settings, tokens: TokenProvider, clients: list[httpx.AsyncClient]) -> None:
        self._settings = settings
        self._tokens = tokens
        self._clients = itertools.cycle(clients)
        self._client = clients[0]            # builds requests; any client sends them

    async def warm_up(self, claims: list[Claim]) -> None:
        """Fetch the tokens a batch needs, one per credential, before any send is scheduled."""
        wanted = {}
        for claim in claims:
            if claim.skip_code:
                continue
            if claim.transport == "graph":
                wanted[(CredentialKey.graph(claim), self._settings.graph_scope)] = None
            elif claim.transport == "bot" and _url_ok(claim.service_url, self._settings.service_url_hosts):
                wanted[(CredentialKey.bot(claim), self._settings.bot_scope)] = None
        if wanted:
            # Failures surface again, classified, when the delivery itself is sent.
            await asyncio.gather(*(self._tokens.token(k, s) for k, s in wanted), return_exceptions=True)

    async def send(self, claim: Claim) -> Outcome:
        transport = claim.transport
        try:
            if transport == "graph":
                request = await self._graph_request(claim)
            elif transport == "bot":
                request = await self._bot_request(claim)
            else:
                request = self._webhook_request(claim)
            if isinstance(request, Outcome):          # refused before sending
                return request
            response = await next(self._clients).send(request)
            await response.aread()
        except TokenError as exc:
            return _refused(exc.code, str(exc))
        except httpx.HTTPError as exc:
            return classify_exception(exc)
        return classify(transport, response)

    async def _graph_request(self, claim: Claim) -> httpx.Request | Outcome:
        token = await self._tokens.token(CredentialKey.graph(claim), self._settings.graph_scope)
        destination = claim.destination_id
        path = _GRAPH_PATHS[claim.destination_type].format(id=quote(destination, safe="@:.-_"))
        body = dict(claim.payload)
        if claim.teams_app_id and "teamsAppId" not in body:
            body["teamsAppId"] = claim.teams_app_id          # disambiguates apps sharing one Entra app
        if claim.destination_type == "chat":
            body.setdefault("recipient", {"@odata.type": "microsoft.graph.chatMembersNotificationRecipient",
                                          "chatId": destination})
        elif claim.destination_type == "channel":
            body.setdefault("recipient", {"@odata.type": "microsoft.graph.teamMembersNotificationRecipient",
                                          "teamId": destination})
        return self._client.build_request(
            "POST", self._settings.graph_base.rstrip("/") + path, json=body,
            headers={"Authorization": f"Bearer {token}", "client-request-id": str(uuid.uuid4())})

    async def _bot_request(self, claim: Claim) -> httpx.Request | Outcome:
        service_url = claim.service_url
        if not _url_ok(service_url, self._settings.service_url_hosts):
            # serviceUrl comes from inbound traffic: a bot token must never reach another host.
            return _refused("destination_not_allowed",
                            "the conversation's serviceUrl host is not on the runner's allow-list of Microsoft connector hosts")
        token = await self._tokens.token(CredentialKey.bot(claim), self._settings.bot_scope)
        url = f"{service_url.rstrip('/')}/v3/conversations/{quote(claim.conversation_id, safe=':@;=')}/activities"
        return self._client.build_request("POST", url, json=claim.payload,
                                          headers={"Authorization": f"Bearer {token}"})

    def _webhook_request(self, claim: Claim) -> httpx.Request | Outcome:
        url = claim.webhook_url
        if not _url_ok(url, self._settings.webhook_hosts):
            return _refused("destination_not_allowed", "the webhook's host is not on the runner's webhook allow-list")
        return self._client.build_request("POST", url, json=claim.payload)
