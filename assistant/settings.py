"""The one Settings object: environment (ALIGN_*), an optional TOML file, then defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from alignment.errors import ConfigError

__all__ = ["BackboneConfig", "DeciderConfig", "Settings", "load_settings"]

ENV_PREFIX = "ALIGN_"
CONFIG_ENV = "ALIGN_CONFIG"
DEFAULT_CONFIG_NAME = "align.toml"


class BackboneConfig(BaseModel):
    """A named backbone: its ``type`` (llamacpp, openai, or a plugin) and that type's options.

    Options are checked by the backbone type when the backbone is built (``extra`` allowed here).
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)
    # the model follows instructions (an instruct/chat model, not a base model): a request on this
    # backbone that names no decider gets the settings' ``instruct_decider`` (docs/results/instruct.md)
    instruct: bool = False
    # the decider of a request on this backbone that names none (beats ``instruct``); None: the rule
    default_decider: str | None = None

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DeciderConfig(BaseModel):
    """A named decider: an algorithm, its parameters, and the backbone it runs on."""

    model_config = ConfigDict(extra="forbid")

    algorithm: str
    backbone: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


def _default_backbones() -> dict[str, BackboneConfig]:
    return {"embedded": BackboneConfig(type="llamacpp")}


DEFAULT_DECIDER = "aligned"
# the default decider on a backbone marked ``instruct = true``, chosen by measurement
# (docs/results/instruct.md): value-fit too. On the same 24 triage items with Qwen2.5-Coder 0.5B
# Instruct, value-fit 0.79 against persona's, likelihood's and regression's picks at or below random,
# a minute a decision each; on the 270M base model value-fit 0.84 against regression's 0.65. A
# separate name, so that a measured larger instruct model can change the instruct default alone
INSTRUCT_DECIDER = "aligned-instruct"


def _default_deciders() -> dict[str, DeciderConfig]:
    return {
        # the default of chat, `align decide`, /decide and `align eval`: chosen by measurement
        # (docs/results/decider.md): value-fit aligns where the 270M model's own picks do not
        DEFAULT_DECIDER: DeciderConfig(algorithm="value-fit"),
        "persona-vote-5x2": DeciderConfig(
            algorithm="persona-vote",
            params={"n_aligned": 5, "n_opposite": 2, "temperature": 0.7},
        ),
        "persona-greedy": DeciderConfig(algorithm="persona", params={"temperature": 0.0}),
        INSTRUCT_DECIDER: DeciderConfig(algorithm="value-fit"),
    }


def config_file_path() -> Path | None:
    """ALIGN_CONFIG if set (must exist), else ./align.toml if present."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


class Settings(BaseSettings):
    """Built once at start-up (``load_settings``) and passed down; never a global."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("align-assistant")))
    database_url: str | None = None
    default_backbone: str = "embedded"
    default_algorithm: str = "value-fit"
    # a request that names neither an algorithm nor a decider uses this decider
    default_decider: str = DEFAULT_DECIDER
    # ... and on a backbone marked ``instruct = true`` (a backbone's own ``default_decider`` beats both)
    instruct_decider: str = INSTRUCT_DECIDER
    backbones: dict[str, BackboneConfig] = Field(default_factory=_default_backbones)
    deciders: dict[str, DeciderConfig] = Field(default_factory=_default_deciders)
    seed: int | None = None
    chroma_host: str | None = None
    chroma_port: int = 8000
    # value-fit reads a value with the backbone's ratings where a reader record (``align readers``)
    # measured them following that value's stored decisions better; the record's file (None: the data
    # directory's readers.json, which `align setup` seeds from datasets/readers.json)
    use_readers: bool = True
    readers_file: Path | None = None
    # the kind of decision a chat is about when the person names none: its suggestions, what-ifs and
    # the profile values it decides with are this domain's ("triage" for a medical-triage deployment)
    chat_domain: str = Field(default="everyday", min_length=1, max_length=50)
    # the chat asks this backbone for the options when the user did not list them (None: it asks the user)
    chat_extraction_backbone: str | None = None
    # align serve: requests waiting past this depth get "busy, retry" (HTTP 503) instead of piling up
    max_queue: int = Field(default=64, ge=1)
    # login attempts: this many failures for one user name within the window lock it for the cool-down
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=60.0, gt=0)
    login_cooldown_s: float = Field(default=60.0, gt=0)
    # each further lock of the same (name, address) doubles the cool-down, up to this
    login_max_cooldown_s: float = Field(default=900.0, gt=0)
    # failed logins from one client address whatever the user names (a stranger making up a new name
    # each time): this many within the window lock the address (before any password is checked) for
    # the cool-down, doubling up to the maximum; a browser that logged in as that name before is exempt
    login_address_max_failures: int = Field(default=50, ge=1)
    login_address_window_s: float = Field(default=600.0, gt=0)
    login_address_cooldown_s: float = Field(default=300.0, gt=0)
    login_address_max_cooldown_s: float = Field(default=3600.0, gt=0)
    # password checks (about 0.2 s of a core each) running at once; a login past this waits up to
    # login_check_wait_s for one (at most 2 per check waiting), else "too many sign-ins at once"
    login_max_concurrent_checks: int = Field(default=2, ge=1)
    login_check_wait_s: float = Field(default=5.0, ge=0.0, le=60.0)
    # a login session ends when unused this long, and in any case this long after the login (seconds)
    session_idle_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    session_lifetime_s: float = Field(default=30 * 24 * 3600.0, gt=0)
    # size limits (README "Security"): an HTTP request body (413 past it, before parsing), an uploaded
    # file, any one text in a request, and the entries of any one list or object in a request
    max_request_bytes: int = Field(default=1_000_000, ge=10_000)
    max_upload_bytes: int = Field(default=16_000_000, ge=10_000)
    max_text_chars: int = Field(default=8000, ge=100)
    max_items: int = Field(default=1000, ge=10)
    # align serve: the OpenAI-compatible API at /v1 (chat apps such as Open WebUI; per-user API keys)
    openai_api: bool = True
    # align serve with the embedded model as the default backbone: the model is loaded at start and
    # the server's own threads run this much nicer (lower priority) than the model's thread, so that
    # its small pieces of work wait a moment rather than stall the model's threads at their barrier
    # (docs/perf/serve-profile.md); 0 leaves every thread alike and the model to load on first use
    serve_nice: int = Field(default=5, ge=0, le=19)
    # the OpenAI-compatible API (/v1), each user's fair share (README "Security"): chat requests per
    # minute; requests running or waiting at once (past it that user alone gets 429, others still get
    # through); and the characters one user may store: conversations, profiles and decision log
    # together (past it chat turns, decisions and profile changes are refused, storing nothing, until
    # old conversations or profiles are removed; the name is kept so existing settings still work)
    api_requests_per_minute: int = Field(default=60, ge=1)
    api_max_requests_per_user: int = Field(default=6, ge=1)
    conversation_quota_chars: int = Field(default=20_000_000, ge=10_000)

    # -- what one user may cost the server (README "Security") ----------------------------------
    # align serve's Evaluate (admins only): the most decisions one evaluation may ask for, all files,
    # records, targets, algorithms and baselines together (the records per file: `--eval-limit`),
    # and how many evaluations run at once on the whole server (a further one is refused, not queued)
    eval_max_decisions: int = Field(default=200, ge=1)
    eval_max_running: int = Field(default=1, ge=1)
    # the most tokens one request may have the model read and write (decide, chat, compare: its
    # columns together, /v1): every call's prompt (the scenario, choices, values and examples, an
    # estimate at 4 characters a token, at most 4,096 a call) and every answer at its max_tokens, each
    # sample and retry counted; past it the request is refused before any model call. Every
    # algorithm's defaults fit, and so do 6 columns of persona-vote's on a 150-word dilemma with 4
    # choices and 3 values (about 6 x 21 calls x 800 tokens = 100,000); admins' evaluations are not
    # bounded by it
    request_max_model_tokens: int = Field(default=150_000, ge=1000)
    # uploads (Gradio's /gradio_api/upload): the bytes one user's uploads may hold on disk at once
    # (older ones are dropped to make room; one larger than this is refused), how many files one
    # user may upload per minute (429 past it), and how long an upload no request used is kept
    upload_max_user_bytes: int = Field(default=64_000_000, ge=10_000)
    upload_max_per_minute: int = Field(default=30, ge=1)
    upload_keep_s: float = Field(default=600.0, gt=0)

    # --- align serve's web edge (assistant/web/origins.py, hosts.py) ---
    # web pages on other sites that may call this server with a user's login, as origins
    # ("https://chat.example.com"); empty: only the app's own pages
    allowed_origins: list[str] = Field(default_factory=list)
    # login mode: the host names the server answers to ("align.example.com"); empty: any. Loopback
    # names always work; in single local-user mode only they do (against DNS rebinding)
    allowed_hosts: list[str] = Field(default_factory=list)
    # addresses (or networks, "10.0.0.0/8") of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty: none, the client address is the connection's
    trusted_proxies: list[str] = Field(default_factory=list)
    # login mode over plain HTTP on a host name other than localhost: refused unless this is true
    # (passwords cross the network unencrypted, and a sibling site can plant a login cookie)
    allow_insecure_http_login: bool = False

    # --- each user's share of Gradio's queue (assistant/web/queue_share.py) ---
    # the web app's jobs one logged-in user may have waiting or running in the shared queue
    # (max_queue); past it a new one is refused with 429, so one user cannot fill the queue
    queue_max_per_user: int = Field(default=6, ge=1)

    # -- profiles one user may keep (README "Security") ------------------------------------------
    # past it creating or importing a new profile is refused (changing or replacing one still works)
    max_profiles_per_user: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _check_web_edge(self) -> Settings:
        import ipaddress
        from urllib.parse import urlsplit

        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ValueError(
                    f"allowed_origins: {origin!r} is not an origin; write it as scheme://host[:port], "
                    "for example https://chat.example.com"
                )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an address or network; list your proxy's address, "
                    "for example 10.0.0.5 or 172.28.0.0/16"
                ) from None
        return self

    @property
    def readers_path(self) -> Path:
        """Where the reader record is read and written."""
        return self.readers_file or self.data_dir / "readers.json"

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        if "embedded" not in self.backbones:
            # a config's own [backbones] table (`align models add` writes one) keeps the embedded
            # model; a config that names its own backbone "embedded" replaces it
            self.backbones = {"embedded": _default_backbones()["embedded"], **self.backbones}
        if self.default_backbone not in self.backbones:
            raise ValueError(
                f"default_backbone {self.default_backbone!r} is not among backbones "
                f"({', '.join(sorted(self.backbones))})"
            )
        for builtin in (DEFAULT_DECIDER, INSTRUCT_DECIDER):
            if builtin not in self.deciders:
                # a config's own [deciders] table adds to the built-in defaults, it does not remove them
                self.deciders[builtin] = _default_deciders()[builtin]
        chosen = [("default_decider", self.default_decider), ("instruct_decider", self.instruct_decider)]
        for key, name in chosen:
            if name not in self.deciders:
                raise ValueError(f"{key} {name!r} is not among deciders ({', '.join(sorted(self.deciders))})")
        for backbone_name, backbone in self.backbones.items():
            if backbone.default_decider is not None and backbone.default_decider not in self.deciders:
                raise ValueError(
                    f"backbone {backbone_name!r}: default_decider {backbone.default_decider!r} is not among "
                    f"deciders ({', '.join(sorted(self.deciders))})"
                )
        for name, decider in self.deciders.items():
            if decider.backbone is not None and decider.backbone not in self.backbones:
                raise ValueError(f"decider {name!r} uses backbone {decider.backbone!r}, which is not defined")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def decider_for(self, backbone: str | None) -> str:
        """The decider of a request that names none, on ``backbone`` (None: the default backbone):
        the backbone's own ``default_decider``, else ``instruct_decider`` for an ``instruct`` backbone,
        else ``default_decider``."""
        config = self.backbones.get(backbone or self.default_backbone)
        if config is not None and config.default_decider is not None:
            return config.default_decider
        if config is not None and config.instruct:
            return self.instruct_decider
        return self.default_decider

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "align.sqlite3"

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"


def _file_data(path: Path) -> dict[str, Any]:
    import tomllib

    with path.open("rb") as handle:
        return tomllib.load(handle)


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the Settings; errors name the file or variable and the key."""
    path = config_file_path()
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} (from {CONFIG_ENV}) does not exist; fix the path")
        try:
            _file_data(path)
        except Exception as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{key}: {err['msg']}")
        where = f"config file {path} or ALIGN_* environment" if path else "ALIGN_* environment"
        raise ConfigError(f"invalid settings in {where}: " + "; ".join(problems)) from None


def describe_sources(settings: Settings) -> dict[str, str]:
    """Where each top-level setting came from: env variable, config file, or default."""
    path = config_file_path()
    file_keys = set(_file_data(path)) if path is not None and path.is_file() else set()
    origin: dict[str, str] = {}
    for name in Settings.model_fields:
        env_name = ENV_PREFIX + name.upper()
        nested = [k for k in os.environ if k.startswith(env_name + "__")]
        if env_name in os.environ or nested:
            origin[name] = f"env {env_name}" + ("__*" if nested and env_name not in os.environ else "")
        elif name in file_keys:
            origin[name] = f"file {path}"
        else:
            origin[name] = "default"
    return origin
