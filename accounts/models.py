import datetime
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Length, Lower, NullIf
from django.db.models.lookups import Exact
from django.utils.crypto import salted_hmac

from .identity import CANONICAL_VIOLATION, OctetLength, canonical_email
from .timezones import validate_timezone


def new_access_stamp() -> str:
    """A fresh random token for ``User.access_stamp`` (see permissions.resolver)."""
    return secrets.token_hex(16)


def unusable_password() -> str:
    """Django's unusable password ("!" and 40 random characters, never a valid hash),
    drawn in one call: Django draws each character with its own ``secrets.choice``,
    which was an eighth of the time an import took to create a user."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    USER = "user", "User"


# The name the users list shows and sorts by: the name, or the e-mail when there is none.
DISPLAY_NAME_KEY = Lower(
    Coalesce(NullIf("name", Value("")), "email", output_field=models.CharField())
)
# The last sign-in the users list sorts by: "never signed in" as the oldest possible time,
# so the key is never NULL and a page can seek to it (controlpanel.kit.keyset).
NEVER_SIGNED_IN = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)
LAST_LOGIN_KEY = Coalesce("last_login", Value(NEVER_SIGNED_IN, output_field=models.DateTimeField()))


class UserStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    DEACTIVATED = "deactivated", "Deactivated"


NO_SUCH_USER = "No user has this e-mail address."


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        """The user whose e-mail is ``username`` in canonical form (accounts.identity).
        The column is unique and holds only canonical addresses, so this finds one user
        or raises DoesNotExist, never MultipleObjectsReturned; an address that has no
        canonical form (a look-alike) is nobody's."""
        try:
            email = canonical_email(username)
        except ValidationError:
            raise self.model.DoesNotExist(NO_SUCH_USER) from None
        return self.get(email=email)

    def find_by_email(self, value):
        """The user with this address (in any case or compatibility form), or None."""
        try:
            return self.get_by_natural_key(value)
        except self.model.DoesNotExist:
            return None

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=email, **fields)  # full_clean makes it canonical
        user.password = make_password(password)  # None gives an unusable password
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.setdefault("role", Role.ADMINISTRATOR)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A login. E-mail is the username; the role decides whether rules apply at all."""

    email = models.EmailField(
        "e-mail",
        max_length=254,
        unique=True,
        error_messages={"unique": "A user with this e-mail address already exists."},
    )
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADMINISTRATOR)
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    timezone = models.CharField(
        "time zone", max_length=64, default="UTC", validators=[validate_timezone]
    )
    ip_whitelist = models.JSONField(
        "IP whitelist",
        default=list,
        blank=True,
        help_text="Entries as typed; empty means any address.",
    )
    money_alerts = models.BooleanField(
        "e-mail me credit and low-balance alerts",
        default=False,
        help_text="Sent to a verified address, for the customers you may read.",
    )
    shared_ticket = models.BooleanField(
        "shared ticket",
        default=False,
        help_text="Other users in the same scope may see the tickets this user raises.",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped whenever the user's groups or own rules change: part of the permission
    # cache key, so the next request resolves afresh on every app server.
    access_version = models.PositiveIntegerField(default=0, editable=False)
    # Random, and replaced with every bump of access_version: the permission cache key
    # carries it, so an entry written for another database, or before a flush or a
    # restore, can never answer for this row (permissions.resolver).
    access_stamp = models.CharField(max_length=32, default=new_access_stamp, editable=False)
    # Bumped when role, e-mail, whitelist or the active flag change: part of the session
    # auth hash, so such changes end the user's other sessions.
    session_version = models.PositiveIntegerField(default=0, editable=False)
    # When the current address was proven (verification link, invite or password reset
    # link). Cleared whenever the address changes; notifications go to verified only.
    email_verified_at = models.DateTimeField("e-mail verified", null=True, blank=True)
    # Single sign-on only (accounts.sso): the password sign-in is refused for this user,
    # with the same answer as any failed sign-in; the audit entry says why.
    sso_only = models.BooleanField(
        "single sign-on only",
        default=False,
        help_text="This user signs in through the organisation's identity provider only; "
        "a password sign-in is refused.",
    )

    objects = UserManager()

    def set_unusable_password(self):
        self.password = unusable_password()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_ci",
                violation_error_message="A user with this e-mail address already exists.",
            ),
            # accounts.identity: only the canonical form (ASCII, lower case) is stored,
            # so the unique constraints above make one row per identity, and look-alikes
            # cannot be written even by code that skips validation.
            models.CheckConstraint(
                condition=Q(email=Lower("email")) & Exact(Length("email"), OctetLength("email")),
                name="user_email_canonical",
                violation_error_message=CANONICAL_VIOLATION,
            ),
        ]
        # The users list sorts and seeks by these at 100,000 users without a sort of the
        # table (e-mail has its unique index); each serves both directions.
        indexes = [
            models.Index(DISPLAY_NAME_KEY, F("id"), name="user_display_name_idx"),
            models.Index(LAST_LOGIN_KEY, F("id"), name="user_last_login_key_idx"),
            # The filters: a page and its count read an index, not the table. Deactivated
            # and invited users are few: partial indexes of just them.
            models.Index(fields=["role", "email"], name="user_role_email_idx"),
            models.Index(
                fields=["email"], condition=Q(is_active=False), name="user_deactivated_idx"
            ),
            models.Index(
                fields=["email"],
                condition=Q(password__startswith=UNUSABLE_PASSWORD_PREFIX, last_login__isnull=True),
                name="user_never_signed_in_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._loaded_email = user.__dict__.get("email")
        return user

    def save(self, *args, **kwargs):
        # A new address is unproven, whoever changes it and however it is saved.
        loaded = getattr(self, "_loaded_email", None)
        fields = kwargs.get("update_fields")
        if loaded is not None and self.email != loaded and (fields is None or "email" in fields):
            self.email_verified_at = None
            if fields is not None and "email_verified_at" not in fields:
                kwargs["update_fields"] = [*fields, "email_verified_at"]
        # access_version and access_stamp are only ever changed by an UPDATE in
        # permissions.signals; a full save from an instance loaded earlier must not write
        # an old version or stamp back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in ("access_version", "access_stamp")
            ]
        super().save(*args, **kwargs)
        self._loaded_email = self.email

    def clean(self):
        super().clean()
        try:
            self.email = canonical_email(self.email)
        except ValidationError as error:
            raise ValidationError({"email": error.error_list}) from None

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR

    @property
    def is_verified(self) -> bool:
        """The current e-mail address has been proven by a link sent to it."""
        return self.email_verified_at is not None

    @property
    def status(self) -> str:
        """``invited`` (no usable password and never signed in), ``deactivated`` or
        ``active``: the lifecycle the users page shows."""
        if not self.is_active:
            return UserStatus.DEACTIVATED
        if not self.has_usable_password() and self.last_login is None:
            return UserStatus.INVITED
        return UserStatus.ACTIVE

    @property
    def status_label(self) -> str:
        return UserStatus(self.status).label

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def _get_session_auth_hash(self, secret=None):
        # Django hashes only the password; the session version lets other credential
        # changes (role, e-mail, whitelist, deactivation) end sessions the same way.
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def end_sessions(self) -> None:
        """Invalidate every session of this user (the caller saves the user)."""
        self.session_version += 1


class UserSession(models.Model):
    """A signed-in session as the user sees it on their profile: where from, which
    browser, when last seen. Written at login and touched at most every few minutes
    (``accounts.sessions``); ending one deletes Django's session and this record."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} from {self.address or 'an unknown address'}"


class ApiToken(models.Model):
    """A personal API token: acts as its owner, with exactly the owner's permissions and IP
    whitelist (``accounts.api_tokens``). Only a SHA-256 hash of the token is stored; the
    ``prefix`` is its non-secret first part, used to find the row and shown in lists."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(
        max_length=100, help_text="What the token is for, e.g. “billing export”."
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    read_only = models.BooleanField(
        "read-only", default=False, help_text="A read-only token can only read (GET)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField("expires", null=True, blank=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True, editable=False)
    last_used_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def status_at(self, now) -> str:
        """``active``, ``revoked`` or ``expired`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class SSOIdentity(models.Model):
    """A provider identity (issuer + subject, the only stable identifier OpenID Connect
    gives) linked to a panel user (accounts.sso). Once linked, the identity signs in as
    this user whatever e-mail the provider reports later, and the user cannot be linked to
    a second subject of the same issuer, so a changed or reassigned address at the
    provider never moves the sign-in to another panel user."""

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    email = models.EmailField("e-mail at the provider", max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique"),
            models.UniqueConstraint(fields=["user", "issuer"], name="sso_identity_one_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey) a user registered on their profile
    (``accounts.passkeys``). Only the public key is stored; the private key never leaves
    the user's authenticator. ``credential_id`` is base64url, as browsers send it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=64, help_text="What the passkey is on, e.g. “work laptop”.")
    credential_id = models.CharField(max_length=1400, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)
    # The authenticator's signature counter; 0 when it keeps none (most synced passkeys).
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)
    # The WebAuthn user handle the credential carries (base64url); one per user.
    user_handle = models.CharField(max_length=100, editable=False)
    aaguid = models.CharField("authenticator model", max_length=36, blank=True, editable=False)
    backup_eligible = models.BooleanField(default=False, editable=False)
    backed_up = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="passkey_name_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
