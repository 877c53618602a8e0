"""The Sales REST API client. It knows nothing of Flask: give it a key, a base URL and a budget."""

from .budget import DatabaseBudget, MemoryBudget, RateBudget, RedisBudget, build_budget
from .client import SalesClient
from .errors import (
    Conflict,
    Forbidden,
    InvalidId,
    InvalidInput,
    NotFound,
    RateLimited,
    RedirectRefused,
    SalesError,
    Timeout,
    Unauthorized,
    Unavailable,
)
from .paging import Checkpoint

__all__ = [
    "Checkpoint",
    "Conflict",
    "DatabaseBudget",
    "Forbidden",
    "InvalidId",
    "InvalidInput",
    "MemoryBudget",
    "NotFound",
    "RateBudget",
    "RateLimited",
    "RedirectRefused",
    "RedisBudget",
    "SalesClient",
    "SalesError",
    "Timeout",
    "Unauthorized",
    "Unavailable",
    "build_budget",
]
