from controlpanel.areas.forms import AreaForm

from .models import Reseller


class ResellerForm(AreaForm):
    """Company name (unique, whatever the case), contact e-mail and the active flag."""

    class Meta:
        model = Reseller
        fields = ["name", "email", "active"]
        labels = {"email": "E-mail"}
        help_texts = {
            "active": "Inactive resellers are not offered for new customers or rate cards."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())
