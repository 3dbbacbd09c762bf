"""User-facing errors: one paragraph naming the file and line, never a traceback."""

from __future__ import annotations


class KaitiakiError(Exception):
    """An input or usage error the user can fix; the CLI prints it and exits 2."""

    exit_code = 2

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" Hint: {self.hint}"
        return text


class ConfigError(KaitiakiError):
    """kaitiaki.yaml (or a file it names) is missing, malformed or invalid."""


class PolicyError(KaitiakiError):
    """A policy does not compile or an engine cannot be set up."""


class EngineError(Exception):
    """The policy engine did not give a usable answer (down, timeout, error, wrong shape).

    Not a user error: the gate turns it into a fail-closed block.
    """
