"""Error codes of the TD SYNNEX clients (prefix ``TDS_``; ``HttpTransport(code_prefix="TDS")`` uses the
``TDS_RATE_LIMITED`` / ``TDS_SERVER_ERROR`` / ``TDS_CLIENT_ERROR`` / ``TDS_UNREACHABLE`` ones)."""

from __future__ import annotations

from channelsync.errors import define, define_transport_codes

SYSTEM = "tdsynnex"

TRANSPORT_CODES = define_transport_codes("TDS", SYSTEM, "TD SYNNEX")
TDS_RATE_LIMITED = TRANSPORT_CODES.rate_limited
TDS_SERVER_ERROR = TRANSPORT_CODES.server_error
TDS_AUTH_FAILED = define("TDS_AUTH_FAILED", SYSTEM, "TD SYNNEX refused the credentials or the access token")
TDS_PERMISSION_DENIED = define("TDS_PERMISSION_DENIED", SYSTEM, "The Ion user may not access this account/resource")
TDS_TOKEN_REUSED = define(
    "TDS_TOKEN_REUSED", SYSTEM,
    "Ion refused the refresh token (already used, expired or unknown); request new OAuth credentials in the portal",
)
TDS_TOKEN_MISSING = define("TDS_TOKEN_MISSING", SYSTEM, "No Ion refresh token is stored for this connection")
TDS_ION_VALIDATION = define("TDS_ION_VALIDATION", SYSTEM, "Ion refused the order (COMM-VL validation errors)")
TDS_ION_INVALID_REQUEST = define("TDS_ION_INVALID_REQUEST", SYSTEM, "Ion refused the request as invalid (400)")
TDS_ION_NOT_FOUND = define("TDS_ION_NOT_FOUND", SYSTEM, "The Ion resource does not exist (404)")
TDS_ION_PRECONDITION = define("TDS_ION_PRECONDITION", SYSTEM, "Ion refused the change in the resource's state (412)")
TDS_PNA_NOT_FOUND = define("TDS_PNA_NOT_FOUND", SYSTEM, "P&A: TD SYNNEX does not know the SKU / part number")
TDS_XML_MALFORMED = define("TDS_XML_MALFORMED", SYSTEM, "TD SYNNEX found the XML request incomplete or malformed")
TDS_XML_ERROR = define("TDS_XML_ERROR", SYSTEM, "A TD SYNNEX XML service answered with an error")
TDS_XML_UNSAFE = define("TDS_XML_UNSAFE", SYSTEM, "A TD SYNNEX XML response was unparseable or carried a DTD/entities")
TDS_PO_REJECTED = define("TDS_PO_REJECTED", SYSTEM, "TD SYNNEX rejected the purchase order")
TDS_PO_DUPLICATE = define("TDS_PO_DUPLICATE", SYSTEM, "TD SYNNEX rejected the PO number as a duplicate")
TDS_FLATFILE_MISSING = define("TDS_FLATFILE_MISSING", SYSTEM, "The daily flat file is not on the FTP site")
