"""`Idempotency-Key` for unsafe requests: the first answer is kept and replayed; a different body is a 409.

The key is scoped to its caller (a user, or an API key). The record is written in the same transaction
as the request's own work, before it: a concurrent twin waits on the key's unique index until the
first commits, then replays its answer, so the work is done once. Answers of 5xx are not kept (the
client may retry). Keys are kept `IDEMPOTENCY_KEY_HOURS` (24 by default), then forgotten.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from lending.api.errors import api_exception_handler, error_response
from lending.api.models import ApiKey, IdempotentRequest

View = Callable[..., Response]
HEADER = "Idempotency-Key"


def caller_of(request: Request) -> str:
    """Whose keys these are: an API key's, or the logged-in user's."""
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request: Request) -> str:
    data = request.data
    if not hasattr(data, "getlist"):  # JSON
        text = json.dumps(data, sort_keys=True, default=str)
    else:  # a form or multipart body (a QueryDict, which json.dumps would take as one value per field and a
        # file as its name): every value of each field, and each file's content
        text = json.dumps({k: data.getlist(k) for k in sorted(data.keys())}, default=str)
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                text += name + hashlib.sha256(upload.read()).hexdigest()
                upload.seek(0)
    # The query string is part of the request too (e.g. DELETE ...?reason=, whose body a client may not send).
    text += "?" + json.dumps({k: request.query_params.getlist(k) for k in sorted(request.query_params)})
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_key(request: Request) -> str:
    key = request.headers.get(HEADER, "")
    if not key or len(key) > 255 or not key.isprintable():
        raise ValidationError({HEADER: ["Required on this request: a unique value (up to 255 characters) per action."]})
    return key


def idempotent(view: View) -> View:
    """Wrap a DRF view function (below `@api_view`) so that its unsafe requests act once per key."""

    @functools.wraps(view)
    def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
        key, caller = idempotency_key(request), caller_of(request)
        fingerprint, path = _fingerprint(request), request.path[:255]
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotentRequest.objects.create(
                        caller=caller, key=key, method=request.method or "", path=path, body_sha256=fingerprint
                    )
            except IntegrityError:  # taken: by an answer already kept, or a twin that just committed
                earlier = IdempotentRequest.objects.select_for_update().get(caller=caller, key=key)
                if (earlier.method, earlier.path, earlier.body_sha256) != (request.method, path, fingerprint):
                    return error_response(
                        code="idempotency_conflict", http_status=409,
                        message=f"{HEADER} {key!r} was already used for a different request "
                        f"({earlier.method} {earlier.path}); use a new key for a new action.",
                    )  # fmt: skip
                replay = Response(earlier.response, status=earlier.status_code)
                replay["Idempotent-Replayed"] = "true"
                return replay
            try:
                response = view(request, *args, **kwargs)
            except Exception as exc:
                handled = api_exception_handler(exc, {"request": request, "view": None})
                if handled is None:
                    raise
                response = handled
            if response.status_code >= 500:
                transaction.set_rollback(True)  # not kept: the client may try again with the same key
                return response
            record.status_code, record.response = response.status_code, response.data
            record.save(update_fields=["status_code", "response"])
            return response

    return wrapper


def forget_old_keys() -> int:
    """Delete answers older than the retention period; returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
