"""Microsoft's published Teams limits (shared by the runner's throttle and the sandbox)."""

from .sandbox.limits import MICROSOFT_LIMITS  # noqa: F401  (moved here once the sandbox settles)
