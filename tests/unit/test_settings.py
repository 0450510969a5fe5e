import pytest

from alignment.errors import ConfigError
from assistant.settings import describe_sources, load_settings

# no ALIGN_* variable of this shell, and a fresh working folder
pytestmark = pytest.mark.usefixtures("clean_align_env")


def test_defaults_name_the_embedded_backbone_and_deciders():
    s = load_settings()
    assert s.default_backbone == "embedded" and s.backbones["embedded"].type == "llamacpp"
    assert s.deciders["persona-vote-5x2"].params["n_aligned"] == 5
    assert set(describe_sources(s).values()) == {"default"}


def test_file_and_env_sources(tmp_path, monkeypatch):
    cfg = tmp_path / "my.toml"
    cfg.write_text(
        'default_algorithm = "persona-vote"\n'
        '[backbones.embedded]\ntype = "llamacpp"\n'
        '[backbones.vllm-qwen]\ntype = "openai"\nbase_url = "http://127.0.0.1:8000/v1"\nflavour = "vllm"\n'
        '[deciders.vote3]\nalgorithm = "persona-vote"\nbackbone = "vllm-qwen"\n'
        "params = { n_aligned = 3, n_opposite = 1 }\n"
    )
    monkeypatch.setenv("ALIGN_CONFIG", str(cfg))
    monkeypatch.setenv("ALIGN_SEED", "7")
    s = load_settings()
    assert s.backbones["vllm-qwen"].options()["flavour"] == "vllm"
    assert s.deciders["vote3"].backbone == "vllm-qwen"
    assert s.seed == 7
    src = describe_sources(s)
    assert src["default_algorithm"] == f"file {cfg}"
    assert src["seed"] == "env ALIGN_SEED"
    assert src["database_url"] == "default"


def test_errors_name_the_file_and_key(tmp_path, monkeypatch):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[deciders.x]\nalgorithm = "persona"\nbackbone = "nowhere"\n')
    monkeypatch.setenv("ALIGN_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=r"bad\.toml.*decider 'x' uses backbone 'nowhere'"):
        load_settings()
    cfg.write_text("chroma_port = 'many'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml.*chroma_port"):
        load_settings()
    cfg.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
    monkeypatch.setenv("ALIGN_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_unknown_key_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "align.toml").write_text("defualt_backbone = 'x'\n")
    with pytest.raises(ConfigError, match="defualt_backbone"):
        load_settings()
