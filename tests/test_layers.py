"""The layer registry refuses a bad spec at start-up, naming the file and the key."""

from __future__ import annotations

import shutil

import pytest

from geoapp import create_app
from geoapp.config import PROJECT_ROOT
from geoapp.layers import LayerSpecError, load_layers
from tests.conftest import app_config

GOOD = (PROJECT_ROOT / "layers" / "boundaries.toml").read_text(encoding="utf-8")


def test_the_shipped_layers_are_valid():
    specs = load_layers(PROJECT_ROOT / "layers")
    assert specs["boundaries"].audience == "public"
    assert "katotth" in specs["boundaries"].properties


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('audience = "public"', 'audience = "everyone"'), "audience"),
        (('source = "boundaries"', 'source = "SELECT * FROM community"'), "source"),
        (('popup = ["name_uk", "name_en", "katotth"]', 'popup = ["email"]'), "popup"),
        (('id = "boundaries"', 'id = "other"'), "id"),
        (("exportable = true", 'exportable = "yes"'), "exportable"),
        (("max_zoom = 19", "max_zoom = 99"), "min_zoom"),
        (("exportable = true", 'exportable = true\npassword = "x"'), "password"),
    ],
)
def test_a_bad_spec_names_file_and_key(tmp_path, change, key):
    old, new = change
    assert old in GOOD
    (tmp_path / "boundaries.toml").write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(LayerSpecError) as err:
        load_layers(tmp_path)
    assert "boundaries.toml" in str(err.value) and f"'{key}'" in str(err.value)


def test_missing_key_and_broken_toml(tmp_path):
    (tmp_path / "boundaries.toml").write_text(GOOD.replace('title_en = "Community boundary"\n', ""))
    with pytest.raises(LayerSpecError, match="'title_en': missing"):
        load_layers(tmp_path)
    (tmp_path / "boundaries.toml").write_text("id = ")
    with pytest.raises(LayerSpecError, match="not valid TOML"):
        load_layers(tmp_path)


def test_the_app_does_not_start_with_a_bad_layer(tmp_path, database_url):
    shutil.copy(PROJECT_ROOT / "layers" / "boundaries.toml", tmp_path / "boundaries.toml")
    (tmp_path / "broken.toml").write_text('id = "broken"\n')
    with pytest.raises(LayerSpecError, match=r"broken\.toml"):
        create_app(app_config(database_url, GEOAPP_LAYERS_DIR=str(tmp_path)))
