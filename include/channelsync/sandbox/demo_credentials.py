"""Fixed demo credentials of the sandbox emulators. They are not secrets: the sandbox accepts only
these, and they are documented in the README so a user can try channelsync without real accounts."""

from __future__ import annotations

AUTOTASK = {
    "username": "api.demo@channelsync.example",
    "secret": "sandbox-secret-autotask",
    "integration_code": "CHANNELSYNCSANDBOX0000000001",
    "zone_name": "Sandbox Zone",
}

CONNECTWISE = {
    "company": "channelsync",
    "public_key": "sandboxpublickey",
    "private_key": "sandbox-private-cw",
    "client_id": "3f2c5d0e-6a7b-4c8d-9e0f-112233445566",
}

TDSYNNEX_ION = {
    "account_id": "100001",
    # Ion refresh tokens are single use and rotate; this is the first one the sandbox accepts after a reset.
    "refresh_token": "sandbox-ion-refresh-0001",
}

TDSYNNEX_XML = {
    "customer_number": "700001",
    "username": "reseller@msp.example",
    "password": "sandbox-xml-pass",
}

CRAYON = {
    "client_id": "crayon-sandbox-client",
    "client_secret": "crayon-sandbox-secret",
    "username": "api@msp.example",
    "password": "crayon-sandbox-pass",
}

PAX8 = {
    "client_id": "pax8-sandbox-client",
    "client_secret": "pax8-sandbox-secret",
    "audience": "api://p8p.client",
}
