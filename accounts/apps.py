from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import reauth, sessions

        # The profile's session list (accounts.sessions): a record per signed-in session.
        user_logged_in.connect(sessions.record_login, dispatch_uid="accounts.sessions.login")
        user_logged_out.connect(sessions.record_logout, dispatch_uid="accounts.sessions.logout")
        # A password typed at sign-in is fresh proof for sensitive changes (accounts.reauth).
        user_logged_in.connect(reauth.on_login, dispatch_uid="accounts.reauth.login")
