"""rxclaude: Claude Code stream-json output as ReactiveX Observables."""

__version__ = "0.1.0"
