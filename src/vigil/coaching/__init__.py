"""Coaching: the patient's feed, generated from their own data in plain words."""

from vigil.coaching.act_now import Danger, Latest, dangers, unanswered
from vigil.coaching.coach import coach, streak_days
from vigil.coaching.models import FeedItem, Point, Targets
from vigil.coaching.repo import (
    care_plan_instructions,
    care_team_replies,
    latest_values,
    list_feed_items,
    patient_profile,
    put_care_plan_instructions,
    store_feed_items,
)
from vigil.coaching.service import refresh_feed
from vigil.coaching.words import card_words

__all__ = [
    "Danger",
    "FeedItem",
    "Latest",
    "Point",
    "Targets",
    "card_words",
    "care_plan_instructions",
    "care_team_replies",
    "coach",
    "dangers",
    "latest_values",
    "list_feed_items",
    "patient_profile",
    "put_care_plan_instructions",
    "refresh_feed",
    "store_feed_items",
    "streak_days",
    "unanswered",
]
