"""A resident's photo: checked, re-encoded, stripped of every byte of metadata.

A phone photo carries the GPS position of the phone (often the resident's home),
the device and the time.  Re-encoding the pixels into a fresh JPEG keeps none of
it; orientation is applied to the pixels first, so nothing needs the EXIF tag.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 2048
FORMATS = ("JPEG", "PNG")
Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs early


@dataclass(frozen=True)
class Photo:
    """A clean JPEG and its size."""

    jpeg: bytes
    width: int
    height: int


class PhotoError(ValueError):
    """The upload is not a usable photo; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_photo(raw: bytes) -> Photo:
    """Re-encode a JPEG or PNG (at most 5 MB) into a metadata-free JPEG of ≤ 2048 px."""
    if len(raw) > MAX_BYTES:
        raise PhotoError("photo_too_large")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in FORMATS:
                raise PhotoError("photo_not_image")
            image.load()
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise PhotoError("photo_not_image") from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)  # a new image: no info dict, no EXIF, no ICC, nothing carried over
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return Photo(out.getvalue(), clean.width, clean.height)
