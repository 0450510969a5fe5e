"""The app's feedback: agree or disagree with one of your decisions; it becomes your personal example
and, for a calibrated profile, one more answer."""

from __future__ import annotations

from collections.abc import Callable

from alignment.example_admin import ExampleAdmin
from alignment.prompts import index_of_label
from assistant.app.schemas import FeedbackRequest
from assistant.app.usage_limits import UsageLimits
from assistant.decisions.feedback import FeedbackResult, give_feedback
from profiles.schemas import Actor
from profiles.store import Store

__all__ = ["AppFeedback", "FeedbackReply"]

FeedbackReply = FeedbackResult  # the feedback stored, the personal example, the calibration's update


class AppFeedback:
    """``limits``: the requests per minute each feedback counts against (none: not checked); it
    writes a personal example and may re-estimate a calibrated profile."""

    def __init__(
        self, store: Store, examples: Callable[[], ExampleAdmin | None], limits: UsageLimits | None = None
    ) -> None:
        self.store = store
        self._examples = examples
        self._limits = limits

    def give(self, actor: Actor, req: FeedbackRequest) -> FeedbackReply:
        """Agree or disagree with one of your decisions; becomes your personal example."""
        if self._limits is not None:
            self._limits.take(actor)
        would = req.would_choose
        if isinstance(would, str):
            would = index_of_label(would) if would.strip() else None
        return give_feedback(
            self.store,
            self._examples(),
            actor,
            req.decision_id,
            agree=req.agree,
            would_choose=would,
            profile=req.profile,
        )
