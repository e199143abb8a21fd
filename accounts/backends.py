from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """E-mail and password login. Django's ModelBackend already matches the username via
    ``get_by_natural_key`` (the canonical e-mail, exactly, on a unique column: one user or
    none, and a look-alike address is nobody's; accounts.identity), runs the hasher for
    unknown users to even out timing, and refuses inactive users. Model permissions are not
    used: the panel's own resolver decides access."""

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False
