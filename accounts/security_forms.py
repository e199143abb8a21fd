"""Forms for the link pages (reset, invitation) and two-factor sign-in. They only clean
input; ``accounts.lifecycle`` and ``accounts.two_factor`` decide."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm

from .passwords import MAX_PASSWORD_LENGTH
from .two_factor import NEEDS_PROOF, normalise_code


class NewPasswordForm(SetPasswordForm):
    """A new password twice; the configured validators run and are shown as help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            field = self.fields[name]
            field.widget.attrs.update(
                {
                    "autocomplete": "new-password",
                    "title": " ".join(password_validation.password_validators_help_texts()),
                }
            )
        self.fields[
            "new_password1"
        ].help_text = password_validation.password_validators_help_text_html()


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text="The six-digit code from your authenticator app, or a recovery code.",
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError("Enter the code.")
        return code


class ProveItIsYouForm(forms.Form):
    """Turning two-factor sign-in off, or making new recovery codes: a current code or
    the password."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )
    password = forms.CharField(
        label="or your password",
        required=False,
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("code") and not cleaned.get("password"):
            raise forms.ValidationError(NEEDS_PROOF)
        return cleaned


class ConfirmPasswordForm(forms.Form):
    """ "Confirm your password" before a sensitive change (accounts.reauth)."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
