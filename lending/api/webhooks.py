"""Webhook endpoints over the API: a field partner registers URLs, reads the delivery log and asks for a resend.

A partner's staff manage their own partner's endpoints, platform staff everyone's; to anyone else an
endpoint or delivery answers 404 and the list 403. An API key needs webhooks:write. The secret is
shown twice only: in the answer that creates the endpoint and in the one that rotates it.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import FieldPartner, User
from lending.api.errors import error_response
from lending.api.idempotency import idempotent
from lending.api.keys import require_scope
from lending.api.pagination import Cursor
from lending.api.schema import IDEMPOTENCY_KEY
from lending.webhooks import selectors, services
from lending.webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from lending.webhooks.tasks import enqueue

PERMISSIONS: list[type[BasePermission]] = [IsAuthenticated, require_scope("webhooks:write")]
TAGS = ["webhooks"]


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "partner", "url", "description", "event_types", "active", "previous_secret_expires_at",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_...: signs every request. Shown only now; keep it safe.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=500, help_text="https:// and a public host (http:// only in development)")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), min_length=1)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    partner = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1,
        help_text="The field partner (platform staff must give it; partner staff: their own, or none)",
    )  # fmt: skip


class WebhookEndpointUpdateSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, help_text="false: nothing is sent until it is true again")


class WebhookRotateSecretSerializer(serializers.Serializer[Any]):
    previous_secret_valid_hours = serializers.IntegerField(
        min_value=0, max_value=services.MAX_ROTATION_OVERLAP_HOURS, default=24, required=False,
        help_text="How long the old secret still signs (a second v1); 0 if it leaked",
    )  # fmt: skip


class WebhookAttemptSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "attempted_at", "status_code", "error", "duration_ms", "response_body"]
        read_only_fields = fields


class WebhookEventSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="uid", help_text="Also the Lending-Event-Id header; skip one you have seen")
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    data = serializers.JSONField(source="payload")  # type: ignore[assignment]  # the field, not Serializer.data


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    event = WebhookEventSerializer(read_only=True)
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint", "status", "attempts", "next_attempt_at", "delivered_at", "last_status_code",
                  "last_error", "created_at", "event", "attempt_log"]  # fmt: skip
        read_only_fields = fields


def _manager(request: Request) -> Any:
    if not selectors.may_manage_webhooks(request.user):
        raise PermissionDenied("Only a field partner's staff and platform staff manage webhook endpoints.")
    return request.user


def _partner_for(request: Request, partner_id: int | None) -> FieldPartner:
    """The partner a new endpoint belongs to: the caller's own, or (platform staff) the one named."""
    own = selectors.managed_partner_id(_manager(request))
    if own is not None and partner_id not in (None, own):
        raise serializers.ValidationError({"partner": ["You may register endpoints only for your own field partner."]})
    chosen = own if own is not None else partner_id
    if chosen is None:
        raise serializers.ValidationError({"partner": ["Name the field partner the endpoint is for."]})
    partner = FieldPartner.objects.filter(pk=chosen).first()
    if partner is None:
        raise serializers.ValidationError({"partner": ["No such field partner."]})
    return partner


@idempotent
def _endpoint_create(request: Request) -> Response:
    _manager(request)  # who first: a lender is told they may not (403), not what a valid body would be
    form = WebhookEndpointCreateSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = dict(form.validated_data)
    partner, actor = _partner_for(request, data.pop("partner", None)), request.user
    assert isinstance(actor, User)
    endpoint, secret = services.webhook_endpoint_create(partner=partner, actor=actor, **data)
    return Response({**WebhookEndpointSerializer(endpoint).data, "secret": secret}, status=status.HTTP_201_CREATED)


class EndpointFilter(django_filters.FilterSet):
    partner = django_filters.NumberFilter(field_name="partner_id", help_text="Platform staff: one partner's")
    active = django_filters.BooleanFilter()

    class Meta:
        model = WebhookEndpoint
        fields: list[str] = []


class EndpointList(generics.ListAPIView[WebhookEndpoint]):
    permission_classes = PERMISSIONS
    serializer_class = WebhookEndpointSerializer
    filterset_class = EndpointFilter
    pagination_class = Cursor

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return selectors.endpoints_visible_to(_manager(self.request))

    @extend_schema(tags=TAGS, summary="List your webhook endpoints (secrets are never listed)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS, request=WebhookEndpointCreateSerializer, responses={201: WebhookEndpointWithSecretSerializer},
        parameters=[IDEMPOTENCY_KEY], summary="Register a webhook endpoint; the answer shows its secret, once",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        return _endpoint_create(request)


def _visible_endpoint(request: Request, pk: int) -> WebhookEndpoint:
    return generics.get_object_or_404(selectors.endpoints_visible_to(request.user), pk=pk)


@extend_schema(methods=["GET"], tags=TAGS, responses=WebhookEndpointSerializer, summary="One webhook endpoint")
@extend_schema(
    methods=["PATCH"], tags=TAGS, request=WebhookEndpointUpdateSerializer, responses=WebhookEndpointSerializer,
    summary="Change an endpoint's URL, events, description, or pause it (active: false)",
)  # fmt: skip
@extend_schema(methods=["DELETE"], tags=TAGS, responses={204: None},
               summary="Remove an endpoint with its delivery log")  # fmt: skip
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes(PERMISSIONS)
def endpoint_detail(request: Request, pk: int) -> Response:
    endpoint = _visible_endpoint(request, pk)
    if request.method == "DELETE":
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
    if request.method == "PATCH":
        form = WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **form.validated_data)
    return Response(WebhookEndpointSerializer(endpoint).data)


@extend_schema(
    tags=TAGS, request=WebhookRotateSecretSerializer, responses=WebhookEndpointWithSecretSerializer,
    parameters=[IDEMPOTENCY_KEY],
    summary="A new signing secret, shown once; the old one also signs for previous_secret_valid_hours",
)  # fmt: skip
@api_view(["POST"])
@permission_classes(PERMISSIONS)
@idempotent
def endpoint_rotate_secret(request: Request, pk: int) -> Response:
    endpoint = _visible_endpoint(request, pk)
    form = WebhookRotateSecretSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    try:
        endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint, **form.validated_data)
    except WebhookEndpoint.DoesNotExist:  # deleted between our read and the service's lock
        raise NotFound("No such webhook endpoint.") from None
    return Response({**WebhookEndpointSerializer(endpoint).data, "secret": secret})


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    type = django_filters.ChoiceFilter(field_name="event__type", choices=EventType.choices, help_text="Event type")

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []


@extend_schema(tags=TAGS, summary="An endpoint's delivery log: each event sent, newest first, with every attempt")
class EndpointDeliveries(generics.ListAPIView[WebhookDelivery]):
    permission_classes = PERMISSIONS
    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter
    pagination_class = Cursor

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = _visible_endpoint(self.request, self.kwargs["pk"])
        return selectors.delivery_log(WebhookDelivery.objects.filter(endpoint=endpoint))


@extend_schema(
    tags=TAGS, request=None, responses={202: WebhookDeliverySerializer}, parameters=[IDEMPOTENCY_KEY],
    summary="Send a delivery again now (one more attempt if it failed; a resend if it was delivered)",
)  # fmt: skip
@api_view(["POST"])
@permission_classes(PERMISSIONS)
@idempotent
def delivery_retry(request: Request, pk: int) -> Response:
    delivery = generics.get_object_or_404(selectors.deliveries_visible_to(request.user), pk=pk)
    try:
        delivery = services.webhook_delivery_retry(delivery=delivery)
    except services.WebhookRefused as exc:
        return error_response(code="invalid_state", message=str(exc), http_status=status.HTTP_409_CONFLICT)
    enqueue([delivery.pk])
    row = selectors.delivery_log(WebhookDelivery.objects.filter(pk=delivery.pk)).get()
    return Response(WebhookDeliverySerializer(row).data, status=status.HTTP_202_ACCEPTED)
