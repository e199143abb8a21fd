"""The provider's claims. A provider user's ``last_name`` picks a test mode:

- ``unverified``: ``email_verified`` is false;
- ``wrong-nonce``: the ID token carries a nonce other than the one the panel sent;
- ``mfa``: the ID token's ``amr`` says a one-time code was used (RFC 8176).

``groups`` lists the provider user's Django groups (``serve.GROUPS``).
"""

from oauth2_provider.oauth2_validators import OAuth2Validator


class TestProviderValidator(OAuth2Validator):
    oidc_claim_scope = None  # every claim below, whatever the scope

    def get_additional_claims(self, request):
        user = request.user
        claims = {
            "email": user.email,
            "email_verified": user.last_name != "unverified",
            "name": user.first_name,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }
        if user.last_name == "mfa":
            claims["amr"] = ["pwd", "otp"]
        return claims

    def finalize_id_token(self, id_token, token, token_handler, request):
        if request.user.last_name == "wrong-nonce":
            id_token["nonce"] = "not-the-nonce-the-panel-sent"
        return super().finalize_id_token(id_token, token, token_handler, request)
