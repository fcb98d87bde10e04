"""Coaching: the patient's feed, generated from their own data in plain words."""

from vigil.coaching.coach import coach, streak_days
from vigil.coaching.models import FeedItem, Point, Targets
from vigil.coaching.repo import list_feed_items, patient_profile, store_feed_items
from vigil.coaching.service import refresh_feed
from vigil.coaching.words import card_words

__all__ = [
    "FeedItem",
    "Point",
    "Targets",
    "card_words",
    "coach",
    "list_feed_items",
    "patient_profile",
    "refresh_feed",
    "store_feed_items",
    "streak_days",
]
