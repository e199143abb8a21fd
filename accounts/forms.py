from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import PasswordChangeForm

from permissions.client_ip import client_ip
from permissions.ipwhitelist import ip_allowed

from .models import User
from .timezones import timezone_names

INVALID_LOGIN = "Please enter a correct e-mail address and password."


class LoginForm(forms.Form):
    """E-mail and password. Every refusal (unknown e-mail, wrong password, inactive,
    address not whitelisted) gives the same message; ``refusal_reason`` says which for
    the audit log only."""

    email = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)

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
            raise forms.ValidationError(INVALID_LOGIN, code="invalid_login")
        if not ip_allowed(client_ip(self.request), user.ip_whitelist):
            self.user = user
            self.refusal_reason = "address not whitelisted"
            raise forms.ValidationError(INVALID_LOGIN, code="invalid_login")
        self.user = user
        return self.cleaned_data


class ProfileForm(forms.ModelForm):
    """What every user may change about themselves: name and time zone only."""

    timezone = forms.ChoiceField(
        label="Time zone", choices=[(name, name) for name in timezone_names()]
    )

    class Meta:
        model = User
        fields = ["name", "timezone"]


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's form: the current password is required, the validators run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "new_password1"
        ].help_text = password_validation.password_validators_help_text_html()
