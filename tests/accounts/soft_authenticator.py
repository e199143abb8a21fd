"""A software authenticator for the view-level passkey tests: a real P-256 key that signs
real WebAuthn assertions (authenticator data, client data, ECDSA signature) the way a
security key does, so py_webauthn verifies them for real. The browser journeys use
Chromium's own virtual authenticator instead (tests/browser/test_passkeys.py)."""

from __future__ import annotations

import hashlib
import json
import secrets
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

from accounts.models import Passkey

UP, UV = 0x01, 0x04


class SoftAuthenticator:
    def __init__(self, *, rp_id: str = "testserver", origin: str = "http://testserver"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.rp_id = rp_id
        self.origin = origin
        self.credential_id = bytes_to_base64url(secrets.token_bytes(32))
        self.user_handle = bytes_to_base64url(b"user-handle-" + self.credential_id[:8].encode())
        self.counter = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def register(self, user, name: str = "soft key") -> Passkey:
        """As ``passkeys.passkey_register`` keeps a verified registration."""
        return Passkey.objects.create(
            user=user,
            name=name,
            credential_id=self.credential_id,
            public_key=self.cose_public_key(),
            sign_count=self.counter,
            user_handle=self.user_handle,
        )

    def assertion(
        self,
        options: dict,
        *,
        counter: int | None = None,
        verified: bool = True,
        origin: str | None = None,
        user_handle: str | None = None,
    ) -> dict:
        """The JSON ``navigator.credentials.get`` gives for these request options."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()
        flags = UP | (UV if verified else 0)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", counter)
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": self.credential_id,
            "rawId": bytes_to_base64url(base64url_to_bytes(self.credential_id)),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": user_handle if user_handle is not None else self.user_handle,
            },
            "clientExtensionResults": {},
        }
