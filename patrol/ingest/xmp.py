"""XMP packets (DJI drone-dji, senseFly, exif/tiff) parsed safely with defusedxml.

``parse_xmp(data)`` is the pure core: bytes of one XMP packet in, a flat ``{"prefix:Name": "text"}``
dict out, with canonical prefixes for the namespaces we read (whatever prefix the file declared).
Values may be written as attributes of ``rdf:Description`` or as simple child elements; both are
read. Structured values (rdf:Seq/Bag/Alt) give their first item.

Hostile XML is refused with BadMetadata before anything is expanded: any DTD (and so any entity
declaration, the "billion laughs" bomb) is forbidden, and packets over MAX_XMP_BYTES are refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from patrol.errors import BadMetadata

MAX_XMP_BYTES = 4 * 1024 * 1024

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NAMESPACES = {
    "http://www.dji.com/drone-dji/1.0/": "drone-dji",
    "http://ns.sensefly.com/sensefly/1.0/": "sensefly",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xmp/note/": "xmpNote",
    "http://pix4d.com/camera/1.0/": "camera",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
}


def _key(tag: str) -> str:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        prefix = NAMESPACES.get(uri)
        return f"{prefix}:{local}" if prefix else f"{{{uri}}}{local}"
    return tag


def _to_utf8(data: bytes) -> bytes:
    """XMP may be UTF-16/32 (exiftool's t/images/XMP.jpg is UTF-16BE); normalise to UTF-8."""
    enc = None
    if data[:4] in (b"\x00\x00\xfe\xff", b"\x00\x00\x00<"):
        enc = "utf-32-be"
    elif data[:4] in (b"\xff\xfe\x00\x00", b"<\x00\x00\x00"):
        enc = "utf-32-le"
    elif data[:2] in (b"\xfe\xff", b"\x00<"):
        enc = "utf-16-be"
    elif data[:2] in (b"\xff\xfe", b"<\x00"):
        enc = "utf-16-le"
    if enc is None:
        return data
    text = data.decode(enc, "replace").lstrip("\ufeff")
    return re.sub(r"<\?xml[^>]*\?>", "", text).encode("utf-8")


def _strip_packet(data: bytes) -> bytes:
    """The x:xmpmeta (or rdf:RDF) element, without the xpacket processing instructions/padding."""
    data = _to_utf8(data)
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        start = data.find(b"<rdf:RDF")
    if start < 0:
        start = data.find(b"<")
    if start < 0:
        return b""
    # Keep a DOCTYPE that precedes the root so defusedxml sees (and refuses) it.
    doctype = data.find(b"<!DOCTYPE")
    if 0 <= doctype < start:
        start = doctype
    return data[start:].rstrip(b"\x00 \t\r\n")


def parse_xmp(data: bytes, path: str | Path = "<xmp>") -> dict[str, str]:
    """Flat fields of one XMP packet. Raises BadMetadata for malformed or hostile XML."""
    import xml.etree.ElementTree as ET

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if len(data) > MAX_XMP_BYTES:
        raise BadMetadata(path, f"XMP packet too large ({len(data)} bytes, limit {MAX_XMP_BYTES})")
    body = _strip_packet(data)
    if not body:
        return {}
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise BadMetadata(path, f"XMP refused: {type(e).__name__} (DTD/entity declarations are not allowed)") from e
    except ET.ParseError as e:
        # Some writers pad with garbage after the packet; retry on the xmpmeta element alone.
        end = body.rfind(b"</x:xmpmeta>")
        if end < 0:
            raise BadMetadata(path, f"malformed XMP: {e}") from e
        try:
            root = fromstring(body[: end + len(b"</x:xmpmeta>")], forbid_dtd=True)
        except (DefusedXmlException, ET.ParseError) as e2:
            raise BadMetadata(path, f"malformed XMP: {e2}") from e2
    out: dict[str, str] = {}
    desc_tag = f"{{{RDF}}}Description"
    for desc in root.iter(desc_tag):
        for name, value in desc.attrib.items():
            if name.startswith(f"{{{RDF}}}"):
                continue
            out.setdefault(_key(name), value.strip())
        for child in desc:
            key = _key(child.tag)
            if len(child) == 0:
                text = (child.text or "").strip()
                if text:
                    out.setdefault(key, text)
                continue
            # rdf:Seq / Bag / Alt: first li; or a nested Description's attributes are skipped
            li = child.find(f".//{{{RDF}}}li")
            if li is not None and li.text and li.text.strip():
                out.setdefault(key, li.text.strip())
    return out


_NUM = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_RATIONAL = re.compile(r"^\s*([-+]?\d+)\s*/\s*(\d+)\s*$")


def xmp_float(fields: dict[str, str], key: str) -> float | None:
    """A numeric XMP field ('+98.90', '-89.9', '473/100'); None when missing, empty or not a number."""
    v = fields.get(key)
    if v is None:
        return None
    m = _NUM.match(v)
    if m:
        x = float(m.group(1))
        return x if x == x and abs(x) != float("inf") else None
    m = _RATIONAL.match(v)
    if m and int(m.group(2)) != 0:
        return int(m.group(1)) / int(m.group(2))
    return None
