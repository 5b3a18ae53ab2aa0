"""Pure pieces: transliteration, KATOTTH levels, lat/lon detection."""

from __future__ import annotations

import pytest

from geoapp.geo.crs import looks_swapped, utm_srid, within_ukraine
from geoapp.geo.katotth import is_valid_code, level_of
from geoapp.geo.translit import transliterate
from geoapp.models import CommunityLevel


@pytest.mark.parametrize(
    ("uk", "latin"),
    [
        ("Болград", "Bolhrad"),
        ("Згурівка", "Zghurivka"),
        ("Яготин", "Yahotyn"),
        ("Короп'є", "Koropie"),
        ("Їжакевич", "Yizhakevych"),
        ("Щорс", "Shchors"),
        ("Юрій Ярема", "Yurii Yarema"),
        ("Галицький район", "Halytskyi raion"),
        ("Біла Церква", "Bila Tserkva"),
        ("вул. Личаківська", "vul. Lychakivska"),
    ],
)
def test_official_transliteration(uk, latin):
    assert transliterate(uk) == latin


def test_levels_from_the_codifier_and_from_osm(codifier):
    assert level_of("UA51060030000044366", None, codifier) is CommunityLevel.HROMADA
    assert level_of("UA46060250010121390", "10", codifier) is CommunityLevel.CITY_DISTRICT
    assert level_of("UA85000000000065278", None, codifier) is CommunityLevel.SPECIAL_CITY
    assert level_of("UA01000000000013043", "4", codifier) is CommunityLevel.ARC
    assert level_of("UA99000000000000001", 6, {}) is CommunityLevel.RAION
    assert level_of("UA99000000000000001", None, {}) is None
    assert is_valid_code("UA32080070000050759") and not is_valid_code("UA3208007")


def test_swap_detection():
    bucha = (30.1, 50.5, 30.3, 50.7)
    assert within_ukraine(bucha) and not looks_swapped(bucha)
    assert looks_swapped((50.5, 30.1, 50.7, 30.3))
    assert not within_ukraine((2.3, 48.8, 2.4, 48.9)) and not looks_swapped((2.3, 48.8, 2.4, 48.9))
    assert utm_srid(24.03) == 32635 and utm_srid(30.2) == 32636 and utm_srid(37.5) == 32637
