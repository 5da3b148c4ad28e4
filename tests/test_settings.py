from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import Settings, load_settings
from tests.conftest import run_cli


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()
    assert Settings().llm.model == "qwen2.5-coder-0.5b"


def test_values_are_read(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[llm]\nmodel = "smollm2-135m"\nn_ctx = 1024\n')
    settings = load_settings(tmp_path)
    assert settings.llm.model == "smollm2-135m"
    assert settings.llm.n_ctx == 1024


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        (
            '[llm]\nmodel = "gpt-9"\n',
            "llm.model",
            "allowed values: 'qwen2.5-coder-0.5b', 'qwen2.5-coder-1.5b' or 'smollm2-135m'",
        ),
        ("[llm]\nn_ctx = 10\n", "llm.n_ctx", "greater than or equal to 512"),
        ("[retrieval]\ntop_k = 'many'\n", "retrieval.top_k", "valid integer"),
        ("[llm]\ncolour = 'blue'\n", "llm.colour", "unknown key"),
        ("[llm\n", "(syntax)", "not valid TOML"),
    ],
)
def test_bad_value_names_key_and_allowed(
    tmp_path: Path, toml: str, key: str, fragment: str
) -> None:
    (tmp_path / "settings.toml").write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert f": {key}: " in message
    assert fragment in message
    assert "\n" not in message


def test_cli_bad_setting_is_one_line_exit_2(data_dir: Path) -> None:
    (data_dir / "settings.toml").write_text('[llm]\nmodel = "gpt-9"\n')
    result = run_cli(data_dir, "status")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "llm.model" in lines[0] and "smollm2-135m" in lines[0]
    assert not (data_dir / "ledger.sqlite3").exists()
