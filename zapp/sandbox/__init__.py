"""A faithful simulated Zenvia Sales: its REST API, its host UI, its lifecycle calls and webhooks.

``app`` builds it (``create_sandbox_app``), ``server`` runs it on a port. This
``__init__`` imports nothing, so the ``zapp`` command can list ``zapp sandbox``
without loading the sandbox or its ``sandbox`` extra (Faker).
"""
