"""Operations surface: liveness, readiness and the API description."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .errors import error_body
from .openapi import build_spec, documented
from .schemas import HealthSchema

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
# Load balancers ask every few seconds: one schema per process, not one per check.
_HEALTH = HealthSchema()


@bp.get("/healthz")
@documented(summary="The process is up", tags=("operations",), responses={200: HealthSchema})
def healthz():
    return jsonify(_HEALTH.dump({"status": "ok"}))


@bp.get("/readyz")
@documented(
    summary="The database is reachable",
    tags=("operations",),
    responses={200: HealthSchema},
    errors=(503,),
)
def readyz():
    try:
        current_app.extensions["zapp"].database.ping()
    except SQLAlchemyError:
        log.warning("readiness check failed: database unreachable", exc_info=True)
        return jsonify(
            error_body(503, "The database is unreachable; check ZAPP_DATABASE_URL and the server.")
        ), 503
    return jsonify(_HEALTH.dump({"status": "ready"}))


@bp.get("/openapi.json")
@documented(summary="This description", tags=("operations",), responses={200: None})
def openapi():
    return jsonify(build_spec(current_app))
