"""A faithful simulated Zenvia Sales: its REST API, its host UI, its lifecycle calls and webhooks."""

from .app import Sandbox, SandboxOptions, create_sandbox_app

__all__ = ["Sandbox", "SandboxOptions", "create_sandbox_app"]
