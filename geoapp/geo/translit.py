"""Ukrainian-to-Latin transliteration by the official 2010 table (KMU resolution No. 55).

Used for English names the data lacks (Bolhrad's OSM polygon has no `name:en`)
and, later, to match Latin-typed addresses to Cyrillic ones.
"""

from __future__ import annotations

import re

# letter -> (at the start of a word, elsewhere)
_TABLE: dict[str, tuple[str, str]] = {
    "а": ("a", "a"), "б": ("b", "b"), "в": ("v", "v"), "г": ("h", "h"), "ґ": ("g", "g"),
    "д": ("d", "d"), "е": ("e", "e"), "є": ("ye", "ie"), "ж": ("zh", "zh"), "з": ("z", "z"),
    "и": ("y", "y"), "і": ("i", "i"), "ї": ("yi", "i"), "й": ("y", "i"), "к": ("k", "k"),
    "л": ("l", "l"), "м": ("m", "m"), "н": ("n", "n"), "о": ("o", "o"), "п": ("p", "p"),
    "р": ("r", "r"), "с": ("s", "s"), "т": ("t", "t"), "у": ("u", "u"), "ф": ("f", "f"),
    "х": ("kh", "kh"), "ц": ("ts", "ts"), "ч": ("ch", "ch"), "ш": ("sh", "sh"),
    "щ": ("shch", "shch"), "ь": ("", ""), "ю": ("yu", "iu"), "я": ("ya", "ia"),
}  # fmt: skip
_APOSTROPHES = "'ʼ’`‘"
_WORD_CHAR = re.compile(r"[а-яіїєґ'ʼ’`‘]", re.IGNORECASE)


def transliterate(text: str) -> str:
    """Return `text` with Ukrainian letters replaced by the official Latin spelling.

    "зг" becomes "zgh" (Zghurskyi), apostrophes vanish, word-initial є ї й ю я
    take their initial forms, and the case of each letter is kept.
    """
    out: list[str] = []
    lower = text.lower()
    for i, ch in enumerate(text):
        low = lower[i]
        if ch in _APOSTROPHES:
            continue
        if low not in _TABLE:
            out.append(ch)
            continue
        prev = lower[i - 1] if i > 0 else ""
        initial = not _WORD_CHAR.match(prev) if prev else True
        latin = _TABLE[low][0 if initial else 1]
        if low == "г" and prev == "з":
            latin = "gh"
        if ch != low and latin:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            latin = latin.upper() if (nxt.isupper() and len(latin) > 1) else latin.capitalize()
        out.append(latin)
    return "".join(out)
