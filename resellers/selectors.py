"""Row scope: which rows of a model a user may see and act on.

``scoped`` is the one selector every list, detail page, edit, delete, form choice and
dashboard count goes through (ACCESS_MODEL.md, "Reseller scope" and "Shared tickets").
It narrows rows; whether the user may act at all is the resolver's decision.

Each model declares once how its rows reach a reseller, as the class attribute
``reseller_path`` (``"reseller"``, ``"customer__reseller"``, …; ``None`` for rows that are
not reseller-scoped). Models of other apps that cannot carry the attribute are listed in
``controlpanel.kit.rowscope``. A model that declares nothing is refused rather than shown unscoped.
Models whose rows are private to the user who raised them unless that user shares them
(tickets) also declare ``shared_by_path``.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet

from controlpanel.kit.rowscope import reseller_id_of, reseller_path_of

__all__ = ["forced_reseller_field", "reseller_id_of", "reseller_path_of", "scoped"]


def _as_queryset(queryset_or_model) -> QuerySet:
    if isinstance(queryset_or_model, QuerySet):
        return queryset_or_model
    return queryset_or_model._default_manager.all()


def scoped(queryset_or_model, user) -> QuerySet:
    """The rows of ``queryset_or_model`` that ``user`` may see.

    - Nobody signed in, or an inactive user: no rows.
    - A user linked to a reseller: only rows that reach that reseller (role does not
      widen it: the scope narrows rows, never widens them).
    - Rows with a ``shared_by_path`` (tickets): a non-administrator sees the rows they
      raised plus those raised by a user whose *shared ticket* flag is on.
    """
    queryset = _as_queryset(queryset_or_model)
    model = queryset.model
    path = reseller_path_of(model)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if path is not None and user.reseller_id is not None:
        queryset = queryset.filter(**{path: user.reseller_id})
    shared_by = getattr(model, "shared_by_path", None)
    if shared_by and not user.is_administrator:
        queryset = queryset.filter(
            Q(**{shared_by: user.pk}) | Q(**{f"{shared_by}__shared_ticket": True})
        )
    return queryset


def forced_reseller_field(model: type[Model], user) -> str | None:
    """The field a reseller's user cannot choose: their own reseller is set on it.

    That is the model's own reseller foreign key (customers, rate cards), for a user
    linked to a reseller; None otherwise."""
    path = reseller_path_of(model)
    if path is None or "__" in path or user is None or user.reseller_id is None:
        return None
    return path
