"""``python -m pgteams.sandbox`` = ``pgteams sandbox``."""

from .cli import sandbox_command

if __name__ == "__main__":  # pragma: no cover
    sandbox_command(prog_name="pgteams sandbox")
