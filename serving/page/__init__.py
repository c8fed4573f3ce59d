"""The lifter's live page: form, heart rate and rest on one screen (mounted by the service at /live)."""

from serving.page.app import make_app

__all__ = ["make_app"]
