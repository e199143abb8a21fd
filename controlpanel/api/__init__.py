"""The JSON API: ``/api/cp/<area>`` and ``/api/cp/<area>/<id>`` for every area of the
registry, with the panel's own permissions, scope, validation and services.

The access middleware decides every request before DRF sees it (``@api_area``: the HTTP
method gives the action); DRF here only parses, validates, paginates and throttles. The
business areas are served generically from their ``AreaDefinition``; users, groups and
the audit log have their own viewsets over the same services the pages call. See
docs/api.md.
"""
