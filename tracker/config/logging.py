"""One structlog configuration: readable in development, JSON lines in production."""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal

import structlog

SECRET_WORDS = ("authorization", "token", "password", "secret", "api_key", "cookie")
# A bearer credential or a URL's user:password@ anywhere in a logged string.
SECRET_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{16,}|(://[^:/@\s]+:)[^@\s]+(@)")
# A tracker token pasted anywhere (a GraphQL query, a path): keep its public id, drop the secret.
TOKEN_SECRET_PATTERN = re.compile(r"\b(tok_[0-9a-f]{16}\.)[A-Za-z0-9_-]{43}")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(lowered == word or lowered.endswith(f"_{word}") for word in SECRET_WORDS)


def _redact_text(text: str) -> str:
    text = TOKEN_SECRET_PATTERN.sub(r"\1[redacted]", text)
    return SECRET_PATTERN.sub(
        lambda m: (
            f"{m.group(1)}[redacted]" if m.group(1) else f"{m.group(2)}[redacted]{m.group(3)}"
        ),
        text,
    )


def _drop_secrets(
    _: object, __: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Never log a secret, whatever a caller passes: by key name, or inside text."""
    for key, value in list(event_dict.items()):
        if _is_secret_key(key):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = _redact_text(value)
    return event_dict


def configure_logging(fmt: Literal["console", "json"], level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through one renderer to stderr."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        # filter_by_level first: a line below the level costs one `isEnabledFor`, not the
        # timestamp and the secret redaction that the standard library would then drop.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if fmt == "json" else _identity,
            _drop_secrets,  # again: a formatted traceback may quote a secret
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The access log is ours (with the request id); uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True


def _identity(
    _: object, __: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    return event_dict
