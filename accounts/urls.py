from django.urls import include, path

from . import link_views, passkey_urls, security_views, sso_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", include(passkey_urls)),  # passkeys: sign-in, second step, profile
    path("profile/", views.profile_view, name="profile"),
    path("profile/password/", views.password_change_view, name="password_change"),
    # Account lifecycle and sign-in security (accounts.link_views, accounts.security_views)
    path("login/code/", security_views.login_code_view, name="login_code"),
    # Single sign-on (accounts.sso_views): 404 unless OIDC_ISSUER is configured
    path("sso/start/", sso_views.sso_start_view, name="sso_start"),
    path("sso/callback/", sso_views.sso_callback_view, name="sso_callback"),
    path("password-reset/", link_views.password_reset_view, name="password_reset"),
    path("password-reset/sent/", link_views.password_reset_done_view, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        link_views.password_reset_confirm_view,
        name="password_reset_confirm",
    ),
    path("invite/<uidb64>/<token>/", link_views.invite_accept_view, name="invite_accept"),
    path("invite/<uidb64>/<token>/renew/", link_views.invite_resend_view, name="invite_resend"),
    path("verify/<uidb64>/<token>/", link_views.verify_email_view, name="verify_email"),
    path(
        "profile/confirm-password/",
        security_views.confirm_password_view,
        name="confirm_password",
    ),
    path("profile/verify-email/", security_views.send_verification_view, name="send_verification"),
    path("profile/two-factor/", security_views.two_factor_view, name="two_factor"),
    path(
        "profile/two-factor/setup/",
        security_views.two_factor_setup_view,
        name="two_factor_setup",
    ),
    path(
        "profile/two-factor/disable/",
        security_views.two_factor_disable_view,
        name="two_factor_disable",
    ),
    path(
        "profile/two-factor/recovery-codes/",
        security_views.recovery_codes_view,
        name="recovery_codes",
    ),
    path("profile/sessions/<int:pk>/end/", security_views.session_end_view, name="session_end"),
    path(
        "profile/sessions/end-others/",
        security_views.sessions_end_others_view,
        name="sessions_end_others",
    ),
]
