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
# A phone camera takes 12-50 MP but saves 12-24 MP; a picture's size in pixels is read from
# its header before anything is decoded: a 231 KB PNG of 8900 x 8900 pixels cost ~1 GB of
# memory to decode (and it was decoded twice).
MAX_PIXELS = 24_000_000
FORMATS = ("JPEG", "PNG")
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard, for any other caller in the process


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
    """Re-encode a JPEG or PNG (at most 5 MB and 24 MP) into a metadata-free JPEG of ≤ 2048 px.

    The pixel count is checked from the header, before decoding, so a small file that
    decodes to gigabytes costs nothing; call it once per upload (it decodes the picture).
    """
    if len(raw) > MAX_BYTES:
        raise PhotoError("photo_too_large")
    try:
        with Image.open(io.BytesIO(raw)) as image:  # reads the header only
            if image.format not in FORMATS:
                raise PhotoError("photo_not_image")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError("photo_too_many_pixels")
            image.load()
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at twice MAX_PIXELS
        raise PhotoError("photo_too_many_pixels") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise PhotoError("photo_not_image") from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)  # a new image: no info dict, no EXIF, no ICC, nothing carried over
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return Photo(out.getvalue(), clean.width, clean.height)
