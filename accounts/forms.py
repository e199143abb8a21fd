from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import PasswordChangeForm
from django.forms.boundfield import BoundField

from . import reauth, sign_in
from .models import User
from .passwords import MAX_PASSWORD_LENGTH
from .timezones import timezone_names

INVALID_LOGIN = "Please enter a correct e-mail address and password."


class LoginForm(forms.Form):
    """E-mail and password. Every refusal (unknown e-mail, wrong password, inactive,
    address not whitelisted) gives the same message; ``refusal_reason`` says which for
    the audit log only."""

    email = forms.EmailField(
        label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True})
    )
    # The bound keeps a megabyte "password" from being hashed on every attempt.
    password = forms.CharField(
        label="Password", strip=False, max_length=MAX_PASSWORD_LENGTH, widget=forms.PasswordInput
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        self.refusal_reason = ""
        super().__init__(*args, **kwargs)

    def clean(self):
        email = self.cleaned_data.get("email")
        password = self.cleaned_data.get("password")
        if not email or not password:
            return self.cleaned_data
        user = authenticate(self.request, username=email, password=password)
        if user is None:
            self.refusal_reason = "wrong e-mail or password, or inactive account"
            if getattr(self.request, "axes_locked_out", False):
                # accounts.lockout: same answer as any failure; only the audit knows
                self.refusal_reason = "locked out after repeated failed sign-ins"
                if getattr(self.request, "axes_failures_since_start", None) is None:
                    User().set_password(password)  # refused before hashing: even the time
            raise forms.ValidationError(INVALID_LOGIN, code="invalid_login")
        refusal = sign_in.admission_refusal(self.request, user)
        if refusal:
            self.user = user
            self.refusal_reason = refusal
            raise forms.ValidationError(INVALID_LOGIN, code="invalid_login")
        self.user = user
        return self.cleaned_data


class ProfileForm(forms.ModelForm):
    """What every user may change about themselves: name, time zone and whether they
    want the customers' money alerts."""

    timezone = forms.ChoiceField(
        label="Time zone", choices=[(name, name) for name in timezone_names()]
    )

    class Meta:
        model = User
        fields = ["name", "timezone", "money_alerts"]


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's form: the current password is required, the validators run. The current
    password is checked as a sign-in is (accounts.reauth), so wrong guesses from a
    stolen session count toward the account's lockout."""

    def __init__(self, *args, request, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)
        self.fields[
            "new_password1"
        ].help_text = password_validation.password_validators_help_text_html()

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not reauth.password_is_correct(self.request, old_password):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


# --- Setup > Settings > Users ------------------------------------------------------------

PASSWORDS_DIFFER = "The two passwords differ; type the same password twice."


def password_requirements() -> list[str]:
    """The configured validators' requirements, shown on hover and focus."""
    return password_validation.password_validators_help_texts()


# The one requirements hint of a pair of new-password fields (templates/settings).
PASSWORD_REQUIREMENTS_ID = "password-requirements"  # noqa: S105 (an element id)


class PasswordBoundField(BoundField):
    """A new-password input described by the requirements hint as well as by its own
    help text and errors (Django names those two; a fixed ``aria-describedby`` on the
    widget would hide the errors from screen readers)."""

    @property
    def aria_describedby(self):
        return " ".join(filter(None, [super().aria_describedby, PASSWORD_REQUIREMENTS_ID]))


def _password_widget(field: forms.Field) -> None:
    """The requirements ride in ``title`` (hover) and in a hint revealed by CSS on hover
    and focus, which the input names as part of its description."""
    field.widget = forms.PasswordInput(
        attrs={"autocomplete": "new-password", "title": " ".join(password_requirements())}
    )
    field.bound_field_class = PasswordBoundField
