"""A myst-nb mime-renderer plugin (registered as an entry point in lib/pyproject.toml).

The claims table's output bundle carries a JSON copy under ``application/vnd.kexue.claims+json`` for the
script that builds ``book/claims.md``. The rendered book shows the bundle's HTML table instead; this plugin
tells myst-nb that the JSON copy is known and renders to nothing, so ``-W`` builds stay free of
"unknown mime type" warnings.  Kept free of heavy imports: myst-nb loads it at every build.
"""

from __future__ import annotations

from typing import Any, ClassVar

CLAIMS_MIME = "application/vnd.kexue.claims+json"


class ClaimsJsonRenderer:
    """Render the claims JSON copy as nothing and never select it over the HTML table."""

    mime_priority_overrides: ClassVar[list[tuple[str, str, int | None]]] = [("*", CLAIMS_MIME, None)]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[Any] | None:
        """Return no nodes for the claims JSON; ``None`` (not handled) for every other mime type."""
        return [] if data.mime_type == CLAIMS_MIME else None
