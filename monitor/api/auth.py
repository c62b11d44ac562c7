"""DRF authentication and permissions for API keys and scopes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .keys import KeyPrincipal, resolve_key


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer tw_…``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[KeyPrincipal, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        principal = resolve_key(credentials.strip())
        if principal is None:
            raise AuthenticationFailed("The API key is unknown or revoked.")
        return principal, None

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no or a bad key is sent.
        return f'{self.keyword} realm="tierwatch"'


class KeyScope(BasePermission):
    """Allows API-key requests whose key has one of ``scopes``."""

    scopes: tuple[str, ...] = ()
    message = "The API key does not have the required scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, KeyPrincipal):
            return user.has_scope(*self.scopes)
        return False


class IngestScope(KeyScope):
    scopes = ("ingest",)
    message = "This API key cannot write records: it needs the 'ingest' scope."


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes API keys in the OpenAPI document."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project API key, `tw_` + 8-character prefix + secret. Scopes: ingest, read, admin.",
        }
