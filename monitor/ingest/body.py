"""Read an ingest request body: content type, encoding and size, per the contract."""

from __future__ import annotations

import zlib

from django.http import HttpRequest

from monitor.api.errors import ApiError

from .schema import MAX_BODY_BYTES

_LIMIT_TEXT = f"{MAX_BODY_BYTES // (1024 * 1024)} MB"


def _check_content_type(request: HttpRequest) -> None:
    raw = request.META.get("CONTENT_TYPE", "")
    media_type, *params = [part.strip() for part in raw.split(";")]
    if media_type.lower() != "application/json":
        raise ApiError(415, f"Content-Type must be application/json, not {raw or 'missing'!r}.")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            raise ApiError(415, f"Content-Type parameter {param!r} is not supported; only charset=utf-8 is.")


def _content_encoding(request: HttpRequest) -> str:
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in {"", "identity"}:
        return "identity"
    if encoding == "gzip":
        return "gzip"
    raise ApiError(415, f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding.")


def _too_large() -> ApiError:
    return ApiError(413, f"The body is larger than {_LIMIT_TEXT} (uncompressed).")


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise ApiError(400, f"The gzip body is corrupt: {exc}.", [_body_problem("corrupt gzip body")]) from None
    if len(out) > MAX_BODY_BYTES:
        raise _too_large()
    if not inflater.eof or inflater.unused_data:
        raise ApiError(400, "The gzip body is truncated or has trailing data.", [_body_problem("corrupt gzip body")])
    return out


def _body_problem(message: str) -> dict[str, object]:
    return {"index": None, "field": None, "message": message}


def read_body(request: HttpRequest) -> bytes:
    """The uncompressed JSON body, or an ApiError (400, 413 or 415)."""
    _check_content_type(request)
    encoding = _content_encoding(request)
    length = request.META.get("CONTENT_LENGTH")
    if length:
        try:
            declared = int(length)
        except ValueError:
            raise ApiError(400, "Content-Length is not a number.") from None
        if declared > MAX_BODY_BYTES:
            raise _too_large()
        data = request.read(MAX_BODY_BYTES + 1)  # never holds more than the limit in memory
    elif request.META.get("wsgi.input_terminated"):
        # A chunked body: Django only reads up to Content-Length, but the server
        # (gunicorn) has de-chunked it and marks the stream as ending by itself.
        data = request.META["wsgi.input"].read(MAX_BODY_BYTES + 1)
    else:
        raise ApiError(411, "Send a Content-Length header (or a chunked body to a server that supports it).")
    if len(data) > MAX_BODY_BYTES:
        raise _too_large()
    return _gunzip(data) if encoding == "gzip" else data
