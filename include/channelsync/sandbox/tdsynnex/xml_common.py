"""What the XML services share: hardened request parsing, the ``<Credential>`` check, element building,
timestamps.

The real services answer every application-level problem with HTTP 200 and an XML body (error
elements inside the service's response root), never with an HTML page; so does the emulator.
Requests are parsed with ``defusedxml``: a DOCTYPE / entity declaration is refused like bad XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from channelsync.sandbox.framework import SandboxResponse

XML_CONTENT_TYPE = "application/xml; charset=utf-8"


class BadXml(Exception):
    """The request body is not a well-formed, entity-free XML document."""


def parse_request(body: bytes) -> ET.Element:
    if not body.strip():
        raise BadXml("Error on line -1: Premature end of file.")
    try:
        return safe_fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise BadXml(f"DOCTYPE and entity declarations are not allowed ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else -1
        raise BadXml(f"Error on line {line}: {exc}") from exc


def read_request(body: bytes, response_tag: str, credentials: dict[str, str], *,
                 bad_xml_message: str = "Client.IncompleteXML") -> tuple[ET.Element, str] | SandboxResponse:
    """A ``<SynnexB2B>`` request whose ``<Credential>`` is this account's login: (its root, its ``version``),
    or the service's error answer inside ``response_tag`` — ``bad_xml_message`` for a document that does
    not parse, ``Client.InvalidLogin`` (echoing the version) for a wrong user or password."""
    try:
        request = parse_request(body)
    except BadXml as exc:
        return b2b_error(response_tag, bad_xml_message, str(exc))
    version = request.get("version", "")
    if (text(request, "Credential/UserID"), text(request, "Credential/Password")) != (
        credentials["username"], credentials["password"]
    ):
        return b2b_error(response_tag, "Client.InvalidLogin", "Invalid UserID or Password", version)
    return request, version


def text(element: ET.Element | None, path: str, default: str = "") -> str:
    """Stripped text of the first ``path`` match (``default`` when absent)."""
    if element is None:
        return default
    found = element.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def sub(parent: ET.Element, tag: str, value: Any = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if value is not None:
        child.text = str(value)
    return child


def xml_response(root: ET.Element) -> SandboxResponse:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return SandboxResponse(200, body, {"Content-Type": XML_CONTENT_TYPE})


def b2b_error(response_tag: str, message: str, detail: str, version: str | None = None) -> SandboxResponse:
    """``<SynnexB2B><OrderResponse><ErrorMessage/><ErrorDetail/>`` (PO spec example 9, Appendix D)."""
    root = ET.Element("SynnexB2B", {"version": version} if version else {})
    inner = sub(root, response_tag)
    sub(inner, "ErrorMessage", message)
    sub(inner, "ErrorDetail", detail)
    return xml_response(root)


def stamp(when: datetime) -> str:
    """CCYY-MM-DDTHH:MM:SS, the specs' date-time format."""
    return when.strftime("%Y-%m-%dT%H:%M:%S")
