"""Projects, their members, and the API keys that write and read a project's data."""

from __future__ import annotations

import hashlib
import secrets
import string

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.utils import timezone

KEY_PREFIX_LENGTH = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


class Project(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200, blank=True)
    currency = models.CharField(
        max_length=3,
        default="CNY",
        validators=[RegexValidator(r"^[A-Z]{3}$", "an ISO 4217 code such as CNY or USD")],
        help_text="Currency of every cost and price in this project.",
    )
    series_limit = models.PositiveIntegerField(
        default=1000,
        help_text="Most distinct service × tier × model × deployment combinations this project may hold.",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


def hash_key(key: str) -> str:
    # SHA-256, not a password hasher: keys carry 190 random bits, so a slow hash
    # adds nothing but would cap ingest at a few requests per second.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        INGEST = "ingest"
        READ = "read"
        ADMIN = "admin"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"tw_{self.prefix}… ({self.scope}, {self.project})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, project: Project, scope: str, name: str = "") -> tuple[ApiKey, str]:
        """Create a key; the plain key is returned once and never stored."""
        for attempt in range(5):
            prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(KEY_PREFIX_LENGTH))
            plain = f"tw_{prefix}{secrets.token_urlsafe(24)}"
            try:
                with transaction.atomic():  # a savepoint: a prefix clash must not break the caller's transaction
                    key = cls.objects.create(
                        project=project, scope=scope, name=name, prefix=prefix, key_hash=hash_key(plain)
                    )
                return key, plain
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
