"""The browser client: jinja2 templates and static files (ES modules, CSS, message catalogues)."""

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
CATALOGUE_DIR = STATIC_DIR / "i18n"
