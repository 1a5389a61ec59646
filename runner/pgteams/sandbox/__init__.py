"""A local stand-in for Microsoft (Entra ID login, Graph activity feed, Bot
Framework connector, Workflows webhooks) over real HTTPS on loopback.

    from pgteams.sandbox import Sandbox, Fault

See docs/sandbox.md.
"""

from .activities import InboundConversation, TeamsUser
from .core import Sandbox
from .faults import Fault
from .limits import MICROSOFT_LIMITS, Limit
from .state import RecordedRequest

__all__ = ["Sandbox", "Fault", "RecordedRequest", "MICROSOFT_LIMITS", "Limit", "InboundConversation", "TeamsUser"]
