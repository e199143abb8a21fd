"""How a model's rows reach a reseller: the ``reseller_path`` each model declares (or the
table below, for models that cannot carry it). ``resellers.selectors.scoped`` filters by
it; the audit log stamps each entry with it. Only Django here, so both can ask."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

# Paths for models defined outside the business areas, by ``app_label.model_name``.
_PATHS_ELSEWHERE: dict[str, str | None] = {
    "accounts.user": "reseller",  # the `user` area: a reseller's users
    "resellers.reseller": None,  # the `reseller` area is not reseller-scoped
    "permissions.group": None,  # nor is the `group` area
}

_UNSET = object()


def reseller_path_of(model: type[Model]) -> str | None:
    """The lookup from ``model`` to its reseller, or None when it is not scoped."""
    path = _PATHS_ELSEWHERE.get(model._meta.label_lower, _UNSET)
    if path is _UNSET:
        path = getattr(model, "reseller_path", _UNSET)
    if path is _UNSET:
        raise ImproperlyConfigured(
            f"{model._meta.label} declares no reseller_path; set it (None when the rows "
            "are not reseller-scoped) so its rows can be scoped."
        )
    return path


def reseller_id_of(obj: Model) -> int | None:
    """The id of the reseller a row belongs to, following its model's reseller path."""
    path = reseller_path_of(type(obj))
    if path is None:
        return None
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)
