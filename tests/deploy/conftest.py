"""Deploy tests use tests/live's scenes: a Lingkar app on loopback with chosen settings."""

from __future__ import annotations

import pytest

from tests.live.conftest import SceneFactory, scene_factory

__all__ = ["configured_scene", "scene_factory"]


@pytest.fixture
def configured_scene(scene_factory: SceneFactory) -> SceneFactory:
    """``await configured_scene(**settings)``: like tests/live's scene, with those settings."""
    return scene_factory
