"""Ukrainian address normalisation: pure functions, no database.

The same rules turn a gazetteer row and a resident's typed query into
comparable keys, so "вул. Ш. Руставелі, 8", "Руставелі 8" and
"Rustaveli St 8" meet at street key "руставелі" and house "8".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geoapp.geo.translit import transliterate

APOSTROPHES = "'ʼ’`‘′"
# Street-type words and their abbreviations, Ukrainian and the Latin forms people type.
STREET_TYPES = {
    "вулиця", "вул", "проспект", "просп", "пр", "пр-т", "пр-кт", "площа", "пл", "провулок",
    "пров", "пер", "бульвар", "бул", "б-р", "узвіз", "шосе", "набережна", "наб", "майдан",
    "тупик", "алея", "проїзд",
    "vul", "vulytsia", "vulitsa", "ulica", "street", "st", "str", "prospekt", "prosp", "pr",
    "avenue", "ave", "ploshcha", "pl", "square", "sq", "provulok", "prov", "lane", "ln",
    "bulvar", "boulevard", "blvd", "uzviz", "shose", "naberezhna", "road", "rd",
}  # fmt: skip
HOUSE_WORDS = {"буд", "будинок", "д", "№", "no", "bud", "house"}
_HOUSE = re.compile(r"^(\d{1,4})(?:\s*[-‐]?\s*([a-zа-яіїєґ]))?(?:\s*/\s*(\d{1,4}[a-zа-яіїєґ]?))?$")
_TOKEN = re.compile(
    r"\d{1,4}\s*[-‐]?\s*[a-zа-яіїєґ](?![a-zа-яіїєґ])"  # 55а, 55-А
    r"|\d+(?:\s*/\s*\d+[a-zа-яіїєґ]?)?"  # 19, 19/2
    r"|[^\W\d_]+(?:[-'][^\W\d_]+)*"  # words, with inner hyphens and apostrophes
    r"|№",
    re.IGNORECASE,
)
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яіїєґ]")
_LAT_TO_CYR_LOOKALIKE = str.maketrans("aceiopxyk", "асеіорхук")
# A Latin letter after a house number, as someone typing "42a" or "Vokzalna 46b" means it.
_SUFFIX_LATIN_TO_CYR = {"a": "а", "b": "б", "v": "в", "h": "г", "g": "г", "d": "д", "e": "е",
                        "c": "с", "k": "к"}  # fmt: skip


@dataclass(frozen=True)
class ParsedAddress:
    """A street key, a house number (normalised) and the script it was typed in."""

    street: str  # normalised street name: lower case, no type words, no initials
    house: str | None  # "55а", "19/2", or None
    latin: bool  # typed in Latin letters: compare with the transliterated key

    @property
    def house_number(self) -> int | None:
        """The leading integer of the house number, for "nearest number" fallbacks."""
        if not self.house:
            return None
        match = re.match(r"\d+", self.house)
        return int(match.group()) if match else None


def clean(text: str) -> str:
    """Lower case, one apostrophe, single spaces, no parenthesised remarks."""
    text = text.lower()
    for mark in APOSTROPHES:
        text = text.replace(mark, "'")
    text = re.sub(r"\([^)]*\)?", " ", text)  # "(навпроти № 41)", "(вхід в парк)"
    return re.sub(r"\s+", " ", text).strip()


def normalise_house(raw: str) -> str | None:
    """Normalise a house number: "55-А" -> "55а", "буд. 7" -> "7"; None if it is none."""
    text = clean(raw)
    for word in HOUSE_WORDS:
        text = re.sub(rf"^{re.escape(word)}\.?\s*", "", text)
    text = text.translate(_LAT_TO_CYR_LOOKALIKE) if _CYRILLIC.search(text) else text
    match = _HOUSE.match(text.replace(" ", ""))
    if not match:
        return None
    number, letter, part = match.groups()
    letter = _SUFFIX_LATIN_TO_CYR.get(letter, letter) if letter else ""
    return number + letter + (f"/{part}" if part else "")


# Type words that never name a street on their own (unlike "Набережна", "Майдан", "Шосе").
GENERIC_TYPES = {"вулиця", "вул", "vul", "vulytsia", "vulitsa", "ulica", "street", "st", "str"}


def _words_and_house(segment: str) -> tuple[list[str], str | None]:
    words: list[str] = []
    typed: list[str] = []  # street-type words seen, in case they are the name itself
    house = None
    for token in _TOKEN.findall(segment):
        bare = token.strip(".").lower()
        if house is None and re.match(r"\d", bare) and (parsed := normalise_house(bare)):
            house = parsed
            if words:
                break  # "Вокзальна 46 ...": the street came first and is complete
            continue
        if bare in STREET_TYPES:
            typed.append(bare)
            continue
        if bare in HOUSE_WORDS or len(bare) == 1:
            continue
        words.append(bare)
    if not words:  # "Набережна вул., 3": the type word is the name
        words = [w for w in typed if w not in GENERIC_TYPES and len(w) > 3]
    return words, house


def parse(text: str) -> ParsedAddress:
    """Split an address or a query into a street key and a house number.

    The street is the first comma-separated part (minus street-type words,
    single-letter initials and "буд."/"№"); the house number is the first
    number-like token in it or at the start of the next part.  Later parts (a
    town, a landmark: "Вокзальна 46, Буча") are not the street.
    """
    segments = [seg.strip() for seg in clean(text).split(",") if seg.strip()]
    words, house = _words_and_house(segments[0]) if segments else ([], None)
    if house is None and len(segments) > 1:
        head = segments[1].split(" ", 1)[0]
        if re.match(r"\d", head) or head.strip(".") in HOUSE_WORDS:
            _, house = _words_and_house(segments[1])
    street = " ".join(words)
    latin = bool(_LATIN.search(street)) and not _CYRILLIC.search(street)
    return ParsedAddress(street=street, house=house, latin=latin)


def street_key(name: str) -> str:
    """The comparable form of a street name (what `parse` gives for an address without number)."""
    return parse(name).street


def latin_key(key: str) -> str:
    """A Cyrillic street key in the official Latin transliteration, lower case."""
    return transliterate(key).lower()
