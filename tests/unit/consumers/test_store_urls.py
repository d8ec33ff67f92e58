"""A store URL of an unsupported database, or no URL at all, is one ConfigError line: checked
before SQLAlchemy imports the URL's driver (which is often not installed)."""

from __future__ import annotations

import pytest

from consumers.storage import open_engine
from velocity_stream.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://user@db/store", "dialect 'mysql' is not supported"),
        ("oracle+cx_oracle://u:secret@db/x", "dialect 'oracle' is not supported"),
        ("not a url", "store URL 'not a url'"),
    ],
)
def test_an_unsupported_store_url_is_one_config_error(url: str, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        open_engine(url)
    assert said in str(refused.value) and "\n" not in str(refused.value)
    assert "secret" not in str(refused.value)


def test_sqlite_still_opens() -> None:
    engine = open_engine("sqlite://")
    assert engine.dialect.name == "sqlite"
    engine.dispose()
